import type { Message, SystemEvent } from '@parley/protocol'
import type { Transaction } from 'kysely'
import { messageViews } from '../access/message-views.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatRow, Database } from '../store/schema.ts'
import type { UpdateLog } from './commit.ts'

/**
 * Writes a system message — "Ada added Bob", "Bob left", ... — into a chat, inside the caller's
 * `commit()` unit, and appends its `message:new` to every CURRENT member's log.
 *
 * - Takes the chat's next message seq (`ChatRepository.nextSeq`, which also bumps the chat's last
 *   activity), so the system message is ordered with the chat's other messages (DESIGN §3.6).
 * - `sender_id` is `event.actor_id` (null for changes the server makes itself, like choosing a new
 *   admin); `payload` is `{"system": event}`; clients render the words from `system.event`.
 * - The audience is read after the caller's membership writes: call it AFTER adding members (they
 *   see the message) and AFTER removing them (they do not; tell them with `chat:member_removed`).
 * - System messages never count as unread and carry no ticks (see the message presenter).
 *
 * Reuse it for any server-made chat event; add the event name to `SystemEvent` in the protocol first.
 *
 * @example
 * ```ts
 * await commit(deps, async (trx, log) => {
 *   // ... membership writes ...
 *   await appendSystemMessage(trx, log, chat, { event: 'member_left', actor_id: userId, user_ids: [userId] })
 * })
 * ```
 */
export async function appendSystemMessage(
  trx: Transaction<Database>,
  log: UpdateLog,
  chat: ChatRow,
  event: SystemEvent,
): Promise<Message> {
  const chats = new ChatRepository(trx)
  const seq = await chats.nextSeq(chat.id, log.now)
  const row = await new MessageRepository(trx).insert({
    chat_id: chat.id,
    seq,
    sender_id: event.actor_id,
    client_msg_id: null,
    message_type: 'system',
    content: null,
    payload: JSON.stringify({ system: event }),
    reply_to_message_id: null,
    forwarded_from_message_id: null,
    created_at: log.now,
    edited_at: null,
    deleted_at: null,
  })
  const members = await chats.activeMembers(chat.id)
  // A system message looks the same to every member (no ticks, no client id), so present it once.
  const [view] = await messageViews(trx, event.actor_id ?? 0, [chat], [row], members, {
    // System messages carry no media: no URL to prefix.
    baseUrl: null,
  })
  if (!view) throw new Error('system message vanished in its own transaction')
  await log.append(
    'message:new',
    { chat_id: chat.id, message: view },
    members.map((member) => member.user_id),
  )
  return view
}
