import { type Message, showsNothing } from '@parley/protocol'
import type { Transaction } from 'kysely'
import { messageViews } from '../access/message-views.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { deletedForm, deletedReplyPreview } from '../presenters/message.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow, Database, MessageRow } from '../store/schema.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'
import { blockedRecipients } from './chats.ts'
import { commit } from './commit.ts'

type OpsDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock' | 'config'>

/**
 * Who sees a change to an existing message: the chat's current members, less those who hid it
 * (deleted it for themselves, or blocked its sender in a private chat before it arrived).
 */
export async function messageAudience(
  trx: Transaction<Database>,
  message: Pick<MessageRow, 'id' | 'chat_id'>,
): Promise<{ members: ChatMemberRow[]; audience: number[] }> {
  const [members, hidden] = await Promise.all([
    new ChatRepository(trx).activeMembers(message.chat_id),
    new MessageRepository(trx).hiddenFrom(message.id),
  ])
  return { members, audience: members.map((member) => member.user_id).filter((id) => !hidden.has(id)) }
}

/** The message as it is now, inside the unit of work; a deleted one cannot be changed (409). */
async function liveMessage(trx: Transaction<Database>, messageId: number, what: string): Promise<MessageRow> {
  const row = await new MessageRepository(trx).findById(messageId)
  if (!row) throw errors.notFound('Message')
  if (row.deleted_at !== null) throw errors.conflict(`A deleted message cannot be ${what}`)
  return row
}

/**
 * Edits a text message (its sender only). The previous content is kept as an earlier version,
 * `edited_at` is set, and every member who can see the message gets `message:edited`. Sending the
 * same content again changes nothing and appends nothing.
 */
export async function editMessage(
  deps: OpsDeps,
  input: { actorId: number; chat: ChatRow; message: MessageRow; content: string },
): Promise<Message> {
  const { actorId, chat, message, content } = input
  if (message.sender_id !== actorId) throw errors.forbidden('Only the sender can edit a message')
  if (message.message_type !== 'text') {
    throw errors.validation('Only text messages can be edited', [
      { field: 'message_type', message: 'must be text' },
    ])
  }
  if (showsNothing(content)) {
    throw errors.validation('A text message needs content', [
      { field: 'content', message: 'must not be empty' },
    ])
  }
  return commit(deps, async (trx, log) => {
    const current = await liveMessage(trx, message.id, 'edited')
    const messages = new MessageRepository(trx)
    // A delete that committed since `liveMessage` read the row wins: the edit is refused, not applied.
    if (current.content !== content && !(await messages.edit(current, content, log.now))) {
      throw errors.conflict('A deleted message cannot be edited')
    }
    const row = current.content === content ? current : { ...current, content, edited_at: log.now }
    const { members, audience } = await messageAudience(trx, row)
    const [view] = await messageViews(trx, actorId, [chat], [row], members, {
      baseUrl: deps.config.publicUrl,
    })
    if (!view) throw new Error('message vanished in its own transaction')
    if (row !== current) await log.append('message:edited', { chat_id: chat.id, message: view }, audience)
    return view
  })
}

/**
 * Deletes a message. `everyone`: its sender, or an admin of a group for any member's message; the row
 * stays as a "deleted" placeholder with its content, earlier versions and reactions removed, and every
 * member who could see it gets `message:deleted` (deleting again is a no-op). What the update log
 * stored earlier is scrubbed in the same transaction (`scrubLog`), so no replay serves the content.
 * `me`: hides it from the caller only — it leaves their history and answers `not_found` to them from
 * then on; only their own devices hear of it, and their own replay says `message:deleted` where it
 * said `message:new` / `message:edited`.
 */
export async function deleteMessage(
  deps: OpsDeps,
  input: {
    actorId: number
    chat: ChatRow
    member: ChatMemberRow
    message: MessageRow
    scope: 'everyone' | 'me'
  },
): Promise<void> {
  const { actorId, chat, member, message, scope } = input
  if (scope === 'me') {
    await commit(deps, async (trx, log) => {
      const data = { chat_id: chat.id, message_id: message.id, for: 'me' as const }
      await new MessageRepository(trx).hideFor(message.id, [actorId], log.now)
      await new UpdateLogRepository(trx).replaceForUser(actorId, message.id, {
        type: 'message:deleted',
        data,
        now: log.now,
      })
      await log.append('message:deleted', data, [actorId])
    })
    return
  }
  if (message.message_type === 'system') {
    throw errors.forbidden('System messages can only be deleted for yourself')
  }
  const isAdmin = chat.type === 'group' && member.role === 'admin'
  if (message.sender_id !== actorId && !isAdmin) {
    throw errors.forbidden('Only the sender or a group admin can delete a message for everyone')
  }
  await commit(deps, async (trx, log) => {
    if (!(await new MessageRepository(trx).deleteForEveryone(message.id, log.now))) return
    // The message no longer holds its media: housekeeping removes the blobs once nothing else does.
    await new AttachmentRepository(trx).detachFromMessage(message.id)
    await scrubLog(trx, message.id)
    const { audience } = await messageAudience(trx, message)
    await log.append(
      'message:deleted',
      { chat_id: chat.id, message_id: message.id, for: 'everyone' },
      audience,
    )
  })
}

/**
 * Rewrites what the update log stored about a message deleted for everyone, inside the delete's
 * transaction: its own `message:new` / `message:edited` take the deleted form (what history shows),
 * and the replies that quote it show a deleted preview. The log is shared by every recipient (one
 * `changes` row per change), so one rewrite covers every member, former ones included, and every
 * reader (`/api/sync`, socket catch-up) — the hot read path stays a plain read.
 */
async function scrubLog(trx: Transaction<Database>, messageId: number): Promise<void> {
  const updateLog = new UpdateLogRepository(trx)
  for (const change of await updateLog.changesCarrying([messageId])) {
    await updateLog.rewriteChange(change.id, { ...change.data, message: deletedForm(change.data.message) })
  }
  const replies = await new MessageRepository(trx).replyIdsTo(messageId)
  for (const change of await updateLog.changesCarrying(replies)) {
    if (change.data.message.reply_to?.id !== messageId) continue
    await updateLog.rewriteChange(change.id, {
      ...change.data,
      message: deletedReplyPreview(change.data.message),
    })
  }
}

/**
 * Forwards a copy of a message into each of `chatIds` (chats the caller is a current member of;
 * any other id refuses the whole request with `not_found` before anything is sent). Each copy is a
 * normal send by the caller — next per-chat seq, `message:new` to that chat's members (a private-chat
 * recipient who blocked the caller never gets it) — marked `forwarded`. A copy holds the original's
 * attachments (the same ids, so the blobs are stored once). All copies commit together.
 */
export async function forwardMessage(
  deps: OpsDeps,
  input: { actorId: number; message: MessageRow; chatIds: readonly number[] },
): Promise<Message[]> {
  const { actorId, message } = input
  const chatIds = [...new Set(input.chatIds)]
  if (message.deleted_at !== null) throw errors.conflict('A deleted message cannot be forwarded')
  if (message.message_type === 'system') {
    throw errors.validation('System messages cannot be forwarded', [
      { field: 'message_type', message: 'must not be system' },
    ])
  }
  const chats = new ChatRepository(deps.store.db)
  const [targets, memberships] = await Promise.all([
    chats.findByIds(chatIds),
    chats.activeMembershipsOf(actorId, chatIds),
  ])
  const mine = new Set(memberships.map((membership) => membership.chat_id))
  if (targets.length !== chatIds.length || chatIds.some((id) => !mine.has(id))) throw errors.notFound('Chat')

  const views = await commit(deps, async (trx, log) => {
    const source = await liveMessage(trx, message.id, 'forwarded')
    const attachmentRepo = new AttachmentRepository(trx)
    const attachmentIds = ((await attachmentRepo.ofMessages([source.id])).get(source.id) ?? []).map(
      (attachment) => attachment.id,
    )
    const chatRepo = new ChatRepository(trx)
    const messages = new MessageRepository(trx)
    // Chat rows (seq counters) in ascending id order, then every recipient's log counter at once:
    // the same lock order as a single send, so concurrent units cannot deadlock.
    const ordered = [...targets].sort((a, b) => a.id - b.id)
    const sends: Array<{ chat: ChatRow; row: MessageRow; members: ChatMemberRow[]; audience: number[] }> = []
    for (const chat of ordered) {
      if (!(await chatRepo.findActiveMember(chat.id, actorId))) throw errors.notFound('Chat')
      const seq = await chatRepo.nextSeq(chat.id, log.now)
      const row = await messages.insert({
        chat_id: chat.id,
        seq,
        sender_id: actorId,
        client_msg_id: null,
        message_type: source.message_type,
        content: source.content,
        payload: source.payload,
        reply_to_message_id: null,
        forwarded_from_message_id: source.id,
        created_at: log.now,
        edited_at: null,
        deleted_at: null,
      })
      await attachmentRepo.attachToMessage(row.id, attachmentIds, log.now)
      const members = await chatRepo.activeMembers(chat.id)
      const memberIds = members.map((member) => member.user_id)
      const blocked = await blockedRecipients(trx, chat, actorId, memberIds)
      await messages.hideFor(row.id, [...blocked], log.now)
      sends.push({ chat, row, members, audience: memberIds.filter((id) => !blocked.has(id)) })
    }
    await log.lockAudience(sends.flatMap((send) => send.audience))
    const byChat = new Map<number, Message>()
    for (const send of sends) {
      const [view] = await messageViews(trx, actorId, [send.chat], [send.row], send.members, {
        baseUrl: deps.config.publicUrl,
      })
      if (!view) throw new Error('message vanished in its own transaction')
      await log.append('message:new', { chat_id: send.chat.id, message: view }, send.audience)
      byChat.set(send.chat.id, view)
    }
    return byChat
  })
  return chatIds.flatMap((id) => {
    const view = views.get(id)
    return view ? [view] : []
  })
}
