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
  await acknowledgeMany(deps, new Map([[userId, ackSeq]]))
}

/**
 * `acknowledge` for many users at once (user id → acked seq), in one unit of work: the gateway batches
 * the acks of all its sockets (gateway/ack-batcher.ts). In a busy group every member acks every
 * message and each ack appends to the sender's log; one unit per ack made those units queue on the
 * sender's counter row (PostgreSQL holds the row lock through each commit), one unit per batch takes
 * it once.
 */
export async function acknowledgeMany(deps: ReceiptDeps, acks: ReadonlyMap<number, number>): Promise<void> {
  const reader = new UpdateLogRepository(deps.store.db)
  const hints = hintsOf(deps.store)
  const pending: Array<{
    userId: number
    ackSeq: number
    ackedBefore: number
    scanFrom: number
    scanned: Map<number, { seq: number; senders: Set<number> }>
  }> = []
  for (const [userId, ackSeq] of [...acks].sort(([a], [b]) => a - b)) {
    const before = await reader.acked(userId)
    if (ackSeq > before.seq || ackSeq <= before.ackedSeq) continue
    const scanFrom = Math.max(before.ackedSeq, hints.get(userId) ?? 0)
    if (ackSeq <= scanFrom) continue
    const scanned = await newestFromOthers(reader, userId, scanFrom, ackSeq)
    if (scanned.size > 0) {
      pending.push({ userId, ackSeq, ackedBefore: before.ackedSeq, scanFrom, scanned })
      continue
    }
    if (hints.size >= MAX_HINTS) hints.clear()
    hints.set(userId, ackSeq)
  }
  if (pending.length === 0) return
  await commit(deps, async (trx, log) => {
    const updates = new UpdateLogRepository(trx)
    const chats = new ChatRepository(trx)
    const acked: Array<{ userId: number; ackSeq: number }> = []
    const told: Array<{ userId: number; chatId: number; seq: number; audience: number[] }> = []
    // Users in ascending id, each one's watermark rows in ascending chat order: every batch takes its
    // row locks in the same order.
    for (const { userId, ackSeq, ackedBefore, scanFrom, scanned } of pending) {
      const { ackedSeq } = await updates.acked(userId)
      if (ackSeq <= ackedSeq) continue
      acked.push({ userId, ackSeq })
      // Unless another ack moved the cursor meanwhile, the range scanned above is still the one to apply.
      const newest =
        ackedSeq === ackedBefore
          ? scanned
          : await newestFromOthers(updates, userId, Math.max(ackedSeq, scanFrom), ackSeq)
      for (const [chatId, { seq, senders }] of [...newest].sort(([a], [b]) => a - b)) {
        if (!(await chats.advanceDelivered(chatId, userId, seq, log.now))) continue
        // Only the memberships that matter (the user's and the senders'): a big group's others are not read.
        const ids = (await chats.activeMembersAmong(chatId, [userId, ...senders])).map(
          (member) => member.user_id,
        )
        // A former member's watermark no longer concerns anyone; a sender who left is not told.
        if (ids.includes(userId)) {
          told.push({ userId, chatId, seq, audience: ids.filter((id) => senders.has(id)) })
        }
      }
    }
    // Then every counter row this unit touches, at once and in ascending order.
    await log.lockAudience([
      ...acked.map((entry) => entry.userId),
      ...told.flatMap((entry) => entry.audience),
    ])
    for (const { userId, ackSeq } of acked) await updates.advanceAcked(userId, ackSeq)
    for (const { userId, chatId, seq, audience } of told) {
      await log.append(
        'message:delivered',
        { chat_id: chatId, user_id: userId, delivered_seq: seq, delivered_at: iso(log.now) },
        audience,
      )
    }
  })
}
