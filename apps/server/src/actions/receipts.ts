import { groupBy } from '../access/message-views.ts'
import type { Deps } from '../deps.ts'
import { iso } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'
import { commit } from './commit.ts'

type ReceiptDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

/**
 * A device proved it holds the user's log up to `ackSeq` (a sync request with `since`, or the
 * WebSocket `ack`). Every message from someone else that arrived in that range is delivered: the
 * user's delivered watermark of each chat moves up to the newest such message (never back), and the
 * chat's other current members get `message:delivered` — the senders' ticks turn double. The user's
 * own devices are not told: nothing they show depends on their own delivered watermark, and a
 * long-polling device would otherwise be woken by its own acknowledgement.
 *
 * Cheap when there is nothing new to acknowledge (one read, no transaction). A cursor beyond the
 * user's newest seq proves nothing (that client is out of step with this log and will be told to
 * resync), so it acknowledges nothing.
 */
export async function acknowledge(deps: ReceiptDeps, userId: number, ackSeq: number): Promise<void> {
  const before = await new UpdateLogRepository(deps.store.db).acked(userId)
  if (ackSeq > before.seq || ackSeq <= before.ackedSeq) return
  await commit(deps, async (trx, log) => {
    const updates = new UpdateLogRepository(trx)
    const { ackedSeq } = await updates.acked(userId)
    if (ackSeq <= ackedSeq) return
    const newest = new Map<number, number>()
    for (const { data } of await updates.ofTypeBetween(userId, 'message:new', ackedSeq, ackSeq)) {
      if (data.message.sender_id === userId) continue
      newest.set(data.chat_id, Math.max(newest.get(data.chat_id) ?? 0, data.message.seq))
    }
    // Watermark rows in ascending chat order, then every recipient's log counter at once.
    const chats = new ChatRepository(trx)
    const moved: Array<{ chatId: number; seq: number }> = []
    for (const [chatId, messageSeq] of [...newest].sort(([a], [b]) => a - b)) {
      if (await chats.advanceDelivered(chatId, userId, messageSeq, log.now)) {
        moved.push({ chatId, seq: messageSeq })
      }
    }
    const members = await chats.activeMembersOf(moved.map((entry) => entry.chatId))
    const audiences = groupBy(members, (member) => member.chat_id)
    await log.lockAudience([userId, ...members.map((member) => member.user_id)])
    await updates.advanceAcked(userId, ackSeq)
    for (const { chatId, seq: deliveredSeq } of moved) {
      const audience = (audiences.get(chatId) ?? []).map((member) => member.user_id)
      // A former member's watermark no longer concerns anyone.
      if (!audience.includes(userId)) continue
      await log.append(
        'message:delivered',
        { chat_id: chatId, user_id: userId, delivered_seq: deliveredSeq, delivered_at: iso(log.now) },
        audience.filter((id) => id !== userId),
      )
    }
  })
}
