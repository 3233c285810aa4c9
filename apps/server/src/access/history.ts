import type { HistoryQuery, Message } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatRow } from '../store/schema.ts'
import { messageViews } from './message-views.ts'

/**
 * A page of history, always in chronological (seq) order. With no anchor: the newest messages;
 * `before_message_id` / `after_message_id`: the page next to that message; `around_message_id`: the
 * message with context on both sides (deep links). Keyset by per-chat seq; no OFFSET.
 */
export async function chatHistory(
  deps: Pick<Deps, 'store'>,
  viewerId: number,
  chat: ChatRow,
  query: HistoryQuery,
) {
  const limit = query.limit ?? 50
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
  const page = (direction: 'before' | 'after', seq: number, size: number) =>
    messages.page({ chatId: chat.id, viewerId, direction, seq, limit: size + 1 })

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
    older = await page('before', seq, limit)
    hasMoreBefore = older.length > limit
    older = older.slice(0, limit)
    hasMoreAfter = query.before_message_id !== undefined
  }
  const rows = [...older.reverse(), ...newer]
  const views: Message[] = await messageViews(deps.store.db, viewerId, [chat], rows)
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
