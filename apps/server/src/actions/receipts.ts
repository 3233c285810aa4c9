import type { Deps } from '../deps.ts'
import { iso } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'
import { commit } from './commit.ts'

type ReceiptDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

/**
 * Per store: for a user, a seq up to which their log (past the stored `acked_seq`) holds no message
 * from someone else. Most acks cover only the user's own echoes, ticks and reads; remembering that
 * lets them skip the write transaction entirely, and lets the next ack start its scan there instead of
 * at the stored cursor. Only a hint: the log below `ackSeq` never changes, and a node without the
 * hint (another node, after a restart) simply scans from the stored cursor again.
 */
const scannedThrough = new WeakMap<object, Map<number, number>>()
const MAX_HINTS = 100_000

function hintsOf(store: object): Map<number, number> {
  let hints = scannedThrough.get(store)
  if (!hints) {
    hints = new Map()
    scannedThrough.set(store, hints)
  }
  return hints
}

/** Per chat: the newest seq of a message from someone else in the user's log range (after, through], and their senders. */
async function newestFromOthers(
  updates: UpdateLogRepository,
  userId: number,
  after: number,
  through: number,
): Promise<Map<number, { seq: number; senders: Set<number> }>> {
  const newest = new Map<number, { seq: number; senders: Set<number> }>()
  for (const { data } of await updates.ofTypeBetween(userId, 'message:new', after, through)) {
    const senderId = data.message.sender_id
    if (senderId === userId || senderId === null) continue
    const chat = newest.get(data.chat_id)
    if (chat) {
      chat.seq = Math.max(chat.seq, data.message.seq)
      chat.senders.add(senderId)
    } else newest.set(data.chat_id, { seq: data.message.seq, senders: new Set([senderId]) })
  }
  return newest
}

/**
 * A device proved it holds the user's log up to `ackSeq` (a sync request with `since`, or the
 * WebSocket `ack`). Every message from someone else that arrived in that range is delivered: the
 * user's delivered watermark of each chat moves up to the newest such message (never back), and the
 * senders of those messages (while still members) get `message:delivered` — their ticks turn double.
 * Nobody else is told: no one else shows anything that depends on it, and in a group of n telling
 * every member would make each message cost n² log entries. The user's own devices are not told
 * either; a long-polling device would otherwise be woken by its own acknowledgement.
 *
 * Cheap when there is nothing new to acknowledge: reads only, no transaction — also when the range
 * holds no message from someone else. A cursor beyond the user's newest seq proves nothing (that
 * client is out of step with this log and will be told to resync), so it acknowledges nothing.
 */
export async function acknowledge(deps: ReceiptDeps, userId: number, ackSeq: number): Promise<void> {
  const reader = new UpdateLogRepository(deps.store.db)
  const before = await reader.acked(userId)
  if (ackSeq > before.seq || ackSeq <= before.ackedSeq) return
  const hints = hintsOf(deps.store)
  const scanFrom = Math.max(before.ackedSeq, hints.get(userId) ?? 0)
  if (ackSeq <= scanFrom) return
  const scanned = await newestFromOthers(reader, userId, scanFrom, ackSeq)
  if (scanned.size === 0) {
    if (hints.size >= MAX_HINTS) hints.clear()
    hints.set(userId, ackSeq)
    return
  }
  await commit(deps, async (trx, log) => {
    const updates = new UpdateLogRepository(trx)
    const { ackedSeq } = await updates.acked(userId)
    if (ackSeq <= ackedSeq) return
    // Unless another ack moved the cursor meanwhile, the range scanned above is still the one to apply.
    const newest =
      ackedSeq === before.ackedSeq
        ? scanned
        : await newestFromOthers(updates, userId, Math.max(ackedSeq, scanFrom), ackSeq)
    // Watermark rows in ascending chat order, then every recipient's log counter at once.
    const chats = new ChatRepository(trx)
    const moved: Array<{ chatId: number; seq: number; senders: Set<number> }> = []
    for (const [chatId, { seq: messageSeq, senders }] of [...newest].sort(([a], [b]) => a - b)) {
      if (await chats.advanceDelivered(chatId, userId, messageSeq, log.now)) {
        moved.push({ chatId, seq: messageSeq, senders })
      }
    }
    // Only the memberships that matter (the user's and the senders'): a big group's others are not read.
    const told: Array<{ chatId: number; seq: number; audience: number[] }> = []
    for (const { chatId, seq, senders } of moved) {
      const ids = (await chats.activeMembersAmong(chatId, [userId, ...senders])).map(
        (member) => member.user_id,
      )
      // A former member's watermark no longer concerns anyone; a sender who left is not told.
      if (ids.includes(userId)) told.push({ chatId, seq, audience: ids.filter((id) => senders.has(id)) })
    }
    await log.lockAudience([userId, ...told.flatMap((entry) => entry.audience)])
    await updates.advanceAcked(userId, ackSeq)
    for (const { chatId, seq: deliveredSeq, audience } of told) {
      await log.append(
        'message:delivered',
        { chat_id: chatId, user_id: userId, delivered_seq: deliveredSeq, delivered_at: iso(log.now) },
        audience,
      )
    }
  })
}
