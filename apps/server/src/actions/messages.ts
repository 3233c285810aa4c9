import crypto from 'node:crypto'
import {
  isMediaMessageType,
  type MediaKind,
  type MediaMessageType,
  type Message,
  type SendMessageBody,
  showsNothing,
} from '@parley/protocol'
import { messageViews } from '../access/message-views.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { iso } from '../presenters/time.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { type Executor, isUniqueViolation } from '../store/db.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { AttachmentRow, ChatMemberRow, ChatRow, MessageRow } from '../store/schema.ts'
import { blockedRecipients } from './chats.ts'
import { commit } from './commit.ts'
import { cleanName } from './names.ts'

type MessageDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock' | 'config'>

/** Checks a send's body for its message type; returns the content and payload to store. */
function contentOf(body: SendMessageBody): { content: string | null; payload: string | null } {
  if (isMediaMessageType(body.message_type)) {
    if (!body.attachment_ids?.length)
      throw errors.validation(`A ${body.message_type} message needs attachment_ids (or a file)`, [
        { field: 'attachment_ids', message: 'is required' },
      ])
    // The content of a media message is its caption.
    return { content: body.content?.trim() || null, payload: null }
  }
  if (body.attachment_ids !== undefined)
    throw errors.validation(`A ${body.message_type} message takes no attachments`, [
      { field: 'attachment_ids', message: `must be absent for ${body.message_type}` },
    ])
  switch (body.message_type) {
    case 'text': {
      const content = body.content ?? ''
      // Only spaces, zero-width, tag or filler characters would arrive as a message that shows nothing.
      if (showsNothing(content))
        throw errors.validation('A text message needs content', [
          { field: 'content', message: 'must not be empty' },
        ])
      return { content, payload: null }
    }
    case 'location':
      if (!body.location)
        throw errors.validation('A location message needs location', [
          { field: 'location', message: 'is required' },
        ])
      {
        // Names are stored as every name is: NFC, trimmed.
        const { name, ...place } = body.location
        const location = name === undefined ? place : { ...place, name: cleanName(name, 'location.name') }
        return { content: body.content?.trim() || null, payload: JSON.stringify({ location }) }
      }
    case 'contact':
      if (!body.contact)
        throw errors.validation('A contact message needs contact', [
          { field: 'contact', message: 'is required' },
        ])
      {
        const { phone_number: phone, ...card } = body.contact
        const contact = {
          ...card,
          name: cleanName(card.name, 'contact.name'),
          ...(phone === undefined ? {} : { phone_number: cleanName(phone, 'contact.phone_number') }),
        }
        return { content: body.content?.trim() || null, payload: JSON.stringify({ contact }) }
      }
  }
}

/** The kinds each media message type holds: an `image` or `video` message may be an album of both. */
const KINDS_OF: Readonly<Record<MediaMessageType, readonly MediaKind[]>> = {
  image: ['image', 'video'],
  video: ['image', 'video'],
  audio: ['audio'],
  voice: ['voice'],
  document: ['document'],
  gif: ['gif'],
  sticker: ['sticker'],
}

/** Whether an attachment of `kind` may be part of a message of `type` (for multipart, before upload). */
export function kindFits(type: MediaMessageType, kind: MediaKind): boolean {
  return KINDS_OF[type].includes(kind)
}

/**
 * The attachments a send names, checked inside its unit of work: each one the sender's own (else
 * `not_found`, as for an id that does not exist), `ready` (else `conflict`: still uploading or being
 * processed, or refused), and of kinds the message type takes — at least one of the type's own kind,
 * and only an image/video message may hold several (an album).
 */
export async function attachable(
  trx: Executor,
  actorId: number,
  type: MediaMessageType,
  ids: readonly number[],
): Promise<AttachmentRow[]> {
  const rows = new Map((await new AttachmentRepository(trx).findByIds(ids)).map((row) => [row.id, row]))
  const ordered = ids.map((id) => {
    const row = rows.get(id)
    if (!row || row.owner_id !== actorId) throw errors.notFound('Attachment')
    return row
  })
  for (const row of ordered) {
    if (row.state !== 'ready')
      throw errors.conflict(`Attachment ${row.id} is not ready (${row.state})`, {
        attachment_id: row.id,
        state: row.state,
      })
  }
  const misfit = ordered.find((row) => !kindFits(type, row.kind))
  if (misfit)
    throw errors.validation(`A ${type} message cannot hold a ${misfit.kind} attachment`, [
      { field: 'attachment_ids', message: `attachment ${misfit.id} is a ${misfit.kind}` },
    ])
  if (!ordered.some((row) => row.kind === type))
    throw errors.validation(`A ${type} message needs a ${type} attachment`, [
      { field: 'attachment_ids', message: `needs a ${type}` },
    ])
  if (ordered.length > 1 && type !== 'image' && type !== 'video')
    throw errors.validation(`Only image and video messages may hold several attachments`, [
      { field: 'attachment_ids', message: 'must hold one attachment' },
    ])
  return ordered
}

/**
 * Sends a message. Idempotent on (sender, client_msg_id): a retry — concurrent, after a reconnect, or
 * on another node — answers the original message with `created: false`. The message and its
 * `message:new` updates for every current member's log (the sender's other devices included) commit
 * together; a recipient who blocked the sender in a private chat never gets it.
 */
export async function sendMessage(
  deps: MessageDeps,
  input: { actorId: number; chat: ChatRow; body: SendMessageBody },
): Promise<{ message: Message; created: boolean }> {
  const { actorId, chat, body } = input
  // A send without one (seed 002's examples) gets a server-assigned id: unique, so never a duplicate,
  // and no protection against the client's retries (docs/api/README.md says why to send one).
  const assigned = body.client_msg_id === undefined
  const clientMsgId = body.client_msg_id ?? `server:${crypto.randomUUID()}`
  const original = () => new MessageRepository(deps.store.db).findByClientId(actorId, clientMsgId)
  const replay = async (row: MessageRow) => ({
    message: await presentFor(deps, actorId, row),
    created: false,
  })
  const { content, payload } = contentOf(body)
  if (body.reply_to_message_id) {
    const target = await new MessageRepository(deps.store.db).findById(body.reply_to_message_id)
    if (
      !target ||
      target.chat_id !== chat.id ||
      (await new MessageRepository(deps.store.db).isHiddenFor(target.id, actorId))
    ) {
      throw errors.validation('reply_to_message_id does not name a message of this chat', [
        { field: 'reply_to_message_id', message: 'not found in this chat' },
      ])
    }
  }
  try {
    const outcome = await commit(deps, async (trx, log) => {
      const chats = new ChatRepository(trx)
      const messages = new MessageRepository(trx)
      // Only inside the unit of work: a retry batched with the original (SQLite) sees it here, and a
      // first send pays for one lookup, not two.
      const duplicate = assigned ? undefined : await messages.findByClientId(actorId, clientMsgId)
      if (duplicate) return { kind: 'duplicate' as const, row: duplicate }
      if (!(await chats.findActiveMember(chat.id, actorId))) throw errors.notFound('Chat')
      const attachments =
        isMediaMessageType(body.message_type) && body.attachment_ids
          ? await attachable(trx, actorId, body.message_type, body.attachment_ids)
          : []
      const seq = await chats.nextSeq(chat.id, log.now)
      const row = await messages.insert({
        chat_id: chat.id,
        seq,
        sender_id: actorId,
        client_msg_id: clientMsgId,
        message_type: body.message_type,
        content,
        payload,
        reply_to_message_id: body.reply_to_message_id ?? null,
        forwarded_from_message_id: null,
        created_at: log.now,
        edited_at: null,
        deleted_at: null,
      })
      await new AttachmentRepository(trx).attachToMessage(
        row.id,
        attachments.map((attachment) => attachment.id),
        log.now,
      )
      // The quoted message's row lock orders this send with a delete of it (PostgreSQL): either the
      // delete sees this reply and scrubs its preview, or this reply reads the message deleted.
      if (body.reply_to_message_id) await messages.lockRow(body.reply_to_message_id)
      const memberIds = await chats.activeMemberIds(chat.id)
      // A message just sent is beyond every member's watermarks: its ticks need no member rows.
      const members = memberIds.map((userId) => ({
        chat_id: chat.id,
        user_id: userId,
        delivered_seq: 0,
        read_seq: 0,
      }))
      const blocked = await blockedRecipients(trx, chat, actorId, memberIds)
      await messages.hideFor(row.id, [...blocked], log.now)
      const [view] = await messageViews(trx, actorId, [chat], [row], members, {
        baseUrl: deps.config.publicUrl,
        fresh: true,
      })
      if (!view) throw new Error('message vanished in its own transaction')
      await log.append(
        'message:new',
        { chat_id: chat.id, message: view },
        memberIds.filter((id) => !blocked.has(id)),
      )
      return { kind: 'sent' as const, view }
    })
    return outcome.kind === 'sent' ? { message: outcome.view, created: true } : replay(outcome.row)
  } catch (error) {
    // Two nodes (or PostgreSQL transactions) raced with one client_msg_id: the unique index kept one.
    if (!isUniqueViolation(error)) throw error
    const winner = await original()
    if (!winner) throw error
    return replay(winner)
  }
}

async function presentFor(
  deps: Pick<Deps, 'store' | 'config'>,
  viewerId: number,
  row: MessageRow,
): Promise<Message> {
  const chat = await new ChatRepository(deps.store.db).findById(row.chat_id)
  if (!chat) throw errors.notFound('Message')
  const [view] = await messageViews(deps.store.db, viewerId, [chat], [row], undefined, {
    baseUrl: deps.config.publicUrl,
  })
  if (!view) throw errors.notFound('Message')
  return view
}

/**
 * Moves the reader's read watermark up to `message` (never back) and tells every member, so senders
 * see blue ticks and the reader's other devices clear the unread count.
 */
export async function markRead(
  deps: MessageDeps,
  input: { actorId: number; chat: ChatRow; member: ChatMemberRow; message: MessageRow },
): Promise<{ readSeq: number; readAt: number }> {
  const { actorId, chat, message } = input
  return commit(deps, async (trx, log) => {
    const chats = new ChatRepository(trx)
    if (!(await chats.advanceRead(chat.id, actorId, message.seq, log.now))) {
      const current = await chats.findActiveMember(chat.id, actorId)
      return { readSeq: current?.read_seq ?? input.member.read_seq, readAt: current?.read_at ?? log.now }
    }
    const members = await chats.activeMembers(chat.id)
    await log.append(
      'message:read',
      { chat_id: chat.id, user_id: actorId, read_seq: message.seq, read_at: iso(log.now) },
      members.map((member) => member.user_id),
    )
    return { readSeq: message.seq, readAt: log.now }
  })
}
