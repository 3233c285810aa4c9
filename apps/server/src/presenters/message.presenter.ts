import type {
  Attachment,
  Location,
  Message,
  MessageStatus,
  ReactionSummary,
  SharedContact,
  SystemEvent,
} from '@parley/protocol'
import type { AttachmentRow, MessageRow } from '../store/schema.ts'
import type { User } from '../store/user.repository.ts'
import { presentAttachment } from './attachment.presenter.ts'
import { iso, isoOrNull } from './time.ts'

/** What presenting a page of messages needs besides the rows; loaded in a constant number of queries. */
export interface MessageContext {
  viewerId: number
  isGroup: boolean
  users: ReadonlyMap<number, User>
  reactions: ReadonlyMap<number, ReadonlyArray<{ user_id: number; emoji: string }>>
  replies: ReadonlyMap<number, MessageRow>
  /** Watermarks of the chat's current members other than the viewer (for the sender's ticks). */
  otherWatermarks: ReadonlyArray<{ delivered_seq: number; read_seq: number }>
  /** Each message's attachments in album order (the rows' and the quoted messages'). */
  attachments: ReadonlyMap<number, readonly AttachmentRow[]>
  /** PARLEY_PUBLIC_URL, the prefix of the stable media URLs (null: relative to the server). */
  baseUrl: string | null
}

/** Seed 002's media fields: the first attachment's, else null. */
function mediaFields(attachments: readonly Attachment[]) {
  const first = attachments[0]
  return {
    media_url: first?.media_url ?? null,
    thumbnail_url: first?.thumbnail_url ?? null,
    media_size: first?.size ?? null,
  }
}

type Payload = { location?: Location; contact?: SharedContact; system?: SystemEvent }

const parsePayload = (row: MessageRow): Payload => (row.payload ? (JSON.parse(row.payload) as Payload) : {})

export function summariseReactions(
  reactions: ReadonlyArray<{ user_id: number; emoji: string }>,
  users: ReadonlyMap<number, User>,
): ReactionSummary[] {
  const byEmoji = new Map<string, ReactionSummary>()
  for (const { user_id, emoji } of reactions) {
    const summary = byEmoji.get(emoji) ?? { emoji, count: 0, users: [] }
    summary.count += 1
    summary.users.push({ id: user_id, name: users.get(user_id)?.name ?? 'Deleted user' })
    byEmoji.set(emoji, summary)
  }
  return [...byEmoji.values()]
}

/** sent → delivered (every other member has it) → read (every other member read it). */
export function statusFor(
  seq: number,
  others: ReadonlyArray<{ delivered_seq: number; read_seq: number }>,
): { status: MessageStatus; delivered: number; read: number } {
  const read = others.filter((member) => member.read_seq >= seq).length
  const delivered = others.filter((member) => member.delivered_seq >= seq).length
  const everyone = others.length
  const status =
    everyone > 0 && read === everyone ? 'read' : everyone > 0 && delivered === everyone ? 'delivered' : 'sent'
  return { status, delivered, read }
}

/**
 * A message as it is once deleted for everyone: what `presentMessage` answers for a deleted row. A
 * delete rewrites the log's earlier copies of the message to this form (actions/message-ops.ts).
 */
export function deletedForm(message: Message): Message {
  return {
    ...message,
    content: null,
    location: null,
    contact: null,
    system: null,
    attachments: [],
    media_url: null,
    thumbnail_url: null,
    media_size: null,
    reactions: [],
    deleted: true,
  }
}

/** A reply's preview of a message deleted for everyone, as `presentMessage` builds it. */
export function deletedReplyPreview(message: Message): Message {
  return message.reply_to
    ? { ...message, reply_to: { ...message.reply_to, content: null, thumbnail_url: null, deleted: true } }
    : message
}

export function presentMessage(row: MessageRow, ctx: MessageContext): Message {
  const deleted = row.deleted_at !== null
  const payload = deleted ? {} : parsePayload(row)
  const sender = row.sender_id === null ? undefined : ctx.users.get(row.sender_id)
  const reply = row.reply_to_message_id === null ? undefined : ctx.replies.get(row.reply_to_message_id)
  const own = row.sender_id === ctx.viewerId && row.message_type !== 'system'
  const ticks = own ? statusFor(row.seq, ctx.otherWatermarks) : null
  const attachments = deleted
    ? []
    : (ctx.attachments.get(row.id) ?? []).map((attachment) => presentAttachment(attachment, ctx.baseUrl))
  const replyAttachment = reply && reply.deleted_at === null ? ctx.attachments.get(reply.id)?.[0] : undefined
  return {
    id: row.id,
    chat_id: row.chat_id,
    seq: row.seq,
    sender_id: row.sender_id,
    sender: sender ? { id: sender.id, name: sender.name, avatar_url: sender.avatar_url } : null,
    client_msg_id: own ? row.client_msg_id : null,
    message_type: row.message_type,
    content: deleted ? null : row.content,
    location: payload.location ?? null,
    contact: payload.contact ?? null,
    system: payload.system ?? null,
    attachments,
    ...mediaFields(attachments),
    reply_to_message_id: row.reply_to_message_id,
    reply_to: reply
      ? {
          id: reply.id,
          sender_id: reply.sender_id,
          message_type: reply.message_type,
          content: reply.deleted_at === null ? (reply.content?.slice(0, 200) ?? null) : null,
          thumbnail_url: replyAttachment
            ? presentAttachment(replyAttachment, ctx.baseUrl).thumbnail_url
            : null,
          deleted: reply.deleted_at !== null,
        }
      : null,
    forwarded: row.forwarded_from_message_id !== null,
    reactions: deleted ? [] : summariseReactions(ctx.reactions.get(row.id) ?? [], ctx.users),
    status: ticks?.status ?? null,
    delivered_count: ticks && ctx.isGroup ? ticks.delivered : null,
    read_count: ticks && ctx.isGroup ? ticks.read : null,
    deleted,
    sent_at: iso(row.created_at),
    edited_at: isoOrNull(row.edited_at),
  }
}
