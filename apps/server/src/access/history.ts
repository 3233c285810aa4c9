import type { HistoryMessage, HistoryQuery, Message } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { isoOrNull } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow, MessageRow } from '../store/schema.ts'
import { messageViews } from './message-views.ts'

type Watermarks = Pick<ChatMemberRow, 'user_id' | 'delivered_seq' | 'delivered_at' | 'read_seq' | 'read_at'>

/** When a member's watermarks passed `seq` (a message read was delivered, if no ack said so first). */
function receiptTimes(member: Watermarks, seq: number): { delivered: number | null; read: number | null } {
  const read = member.read_seq >= seq ? member.read_at : null
  const delivered = member.delivered_seq >= seq ? member.delivered_at : read
  return { delivered, read }
}

/**
 * Seed 002's per-message `delivered_at` / `read_at` for the viewer: on their own message, when every
 * other current member had it (the latest of their times; null while one has not); on another's
 * message, when it reached / was read by the viewer. Watermark times (when they last moved), like
 * `GET /api/messages/:id/receipts`. One query: the viewer's member row, or all members when the page
 * holds a message of the viewer's.
 */
async function withReceiptTimes(
  deps: Pick<Deps, 'store' | 'config'>,
  viewerId: number,
  chat: ChatRow,
  rows: readonly MessageRow[],
  views: readonly Message[],
): Promise<HistoryMessage[]> {
  const chats = new ChatRepository(deps.store.db)
  const own = (row: MessageRow) => row.sender_id === viewerId && row.message_type !== 'system'
  const members: Watermarks[] = rows.some(own)
    ? await chats.activeMembers(chat.id)
    : [await chats.findActiveMember(chat.id, viewerId)].filter((member) => member !== undefined)
  const viewer = members.find((member) => member.user_id === viewerId)
  const others = members.filter((member) => member.user_id !== viewerId)
  const latest = (times: Array<number | null>) =>
    times.length === 0 || times.some((time) => time === null) ? null : Math.max(...(times as number[]))
  return views.map((view, index) => {
    const row = rows[index]
    if (!row || row.message_type === 'system') return { ...view, delivered_at: null, read_at: null }
    if (own(row)) {
      const times = others.map((member) => receiptTimes(member, row.seq))
      return {
        ...view,
        delivered_at: isoOrNull(latest(times.map((time) => time.delivered))),
        read_at: isoOrNull(latest(times.map((time) => time.read))),
      }
    }
    const mine = viewer ? receiptTimes(viewer, row.seq) : { delivered: null, read: null }
    return { ...view, delivered_at: isoOrNull(mine.delivered), read_at: isoOrNull(mine.read) }
  })
}

/**
 * A page of history, always in chronological (seq) order. With no anchor: the newest messages;
 * `before_message_id` / `after_message_id`: the page next to that message; `around_message_id`: the
 * message with context on both sides (deep links). Keyset by per-chat seq; no OFFSET.
 */
export async function chatHistory(
  deps: Pick<Deps, 'store' | 'config'>,
  viewerId: number,
  chat: ChatRow,
  query: HistoryQuery,
) {
  const limit = query.limit ?? 50
  // Seed 002's page number: page N starts (N - 1) pages further back than page 1 would.
  const skip = ((query.page ?? 1) - 1) * limit
  if (skip > 0 && (query.after_message_id !== undefined || query.around_message_id !== undefined)) {
    throw errors.validation('page goes with before_message_id or no anchor, not after/around_message_id', [
      { field: 'page', message: 'only with before_message_id or no anchor' },
    ])
  }
  const anchors = [query.before_message_id, query.after_message_id, query.around_message_id].filter(
    (id) => id !== undefined,
  )
  if (anchors.length > 1) {
    throw errors.validation('Give at most one of before_message_id, after_message_id, around_message_id')
  }
  const messages = new MessageRepository(deps.store.db)
  const anchorSeq = async (id: number) => {
    const anchor = await messages.findById(id)
    // A message hidden from the viewer (blocked sender, deleted for them) is not found here either.
    if (!anchor || anchor.chat_id !== chat.id || (await messages.isHiddenFor(id, viewerId))) {
      throw errors.notFound('Message')
    }
    return anchor.seq
  }
  const page = (direction: 'before' | 'after', seq: number, size: number, offset = 0) =>
    messages.page({ chatId: chat.id, viewerId, direction, seq, limit: size + 1, offset })

  let older: Awaited<ReturnType<typeof page>> = []
  let newer: Awaited<ReturnType<typeof page>> = []
  let hasMoreBefore = false
  let hasMoreAfter = false
  if (query.after_message_id !== undefined) {
    newer = await page('after', await anchorSeq(query.after_message_id), limit)
    hasMoreAfter = newer.length > limit
    newer = newer.slice(0, limit)
    hasMoreBefore = true
  } else if (query.around_message_id !== undefined) {
    const seq = await anchorSeq(query.around_message_id)
    const beforeSize = Math.floor((limit - 1) / 2)
    ;[older, newer] = await Promise.all([
      page('before', seq + 1, beforeSize + 1),
      page('after', seq, limit - beforeSize - 1),
    ])
    hasMoreBefore = older.length > beforeSize + 1
    hasMoreAfter = newer.length > limit - beforeSize - 1
    older = older.slice(0, beforeSize + 1)
    newer = newer.slice(0, limit - beforeSize - 1)
  } else {
    const seq =
      query.before_message_id !== undefined
        ? await anchorSeq(query.before_message_id)
        : Number.MAX_SAFE_INTEGER
    older = await page('before', seq, limit, skip)
    hasMoreBefore = older.length > limit
    older = older.slice(0, limit)
    hasMoreAfter = query.before_message_id !== undefined || skip > 0
  }
  const rows = [...older.reverse(), ...newer]
  const views = await withReceiptTimes(
    deps,
    viewerId,
    chat,
    rows,
    await messageViews(deps.store.db, viewerId, [chat], rows, undefined, { baseUrl: deps.config.publicUrl }),
  )
  const oldest = views[0]
  return {
    messages: views,
    pagination: {
      has_more_before: hasMoreBefore,
      has_more_after: hasMoreAfter,
      has_more: hasMoreBefore,
      next_before_message_id: hasMoreBefore && oldest ? oldest.id : null,
    },
  }
}
