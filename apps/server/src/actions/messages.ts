import crypto from 'node:crypto'
import { type Message, type SendMessageBody, showsNothing } from '@parley/protocol'
import { messageViews } from '../access/message-views.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { iso } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { isUniqueViolation } from '../store/db.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow, MessageRow } from '../store/schema.ts'
import { blockedRecipients } from './chats.ts'
import { commit } from './commit.ts'
import { cleanName } from './names.ts'

type MessageDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

/** Checks a send's body for its message type; returns the content and payload to store. */
function contentOf(body: SendMessageBody): { content: string | null; payload: string | null } {
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
      const [view] = await messageViews(trx, actorId, [chat], [row], members, { fresh: true })
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

async function presentFor(deps: Pick<Deps, 'store'>, viewerId: number, row: MessageRow): Promise<Message> {
  const chat = await new ChatRepository(deps.store.db).findById(row.chat_id)
  if (!chat) throw errors.notFound('Message')
  const [view] = await messageViews(deps.store.db, viewerId, [chat], [row])
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
