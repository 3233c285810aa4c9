import type { Chat } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { chatViews } from './chat-views.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'

/**
 * One page of the caller's chat list, in a constant number of queries whatever the number of chats
 * (one for the page, then `chatViews`).
 *
 * - Only chats the caller is a current member of. Archived chats are left out unless `archived` is
 *   true, which lists the archived ones only.
 * - Order: pinned chats first (most recently pinned first), then by last activity (the chat's newest
 *   message or creation), newest first; ties by chat id, descending.
 * - A private chat someone else opened with the caller shows only once it holds a message the caller
 *   can see (WhatsApp: an empty chat does not appear on the other side); the one who opened it sees it
 *   at once. Groups always show.
 * - `page` (seed 002) instead of `cursor`: the same order from offset (page - 1) * limit, with the
 *   totals (one count query more); a next cursor is still given, to go on by cursor from there.
 * - The cursor is opaque: base64url of the last row's sort key, so pages never repeat or skip a chat
 *   that did not move in between (a chat that moves — new message, pin — may appear again or be
 *   passed over, as in any list ordered by activity; `chat:*` and `message:new` updates tell the client).
 */
export async function chatList(
  deps: Pick<Deps, 'store' | 'presence' | 'config'>,
  viewerId: number,
  query: {
    limit?: number | undefined
    cursor?: string | undefined
    page?: number | undefined
    archived?: boolean | undefined
  },
): Promise<{
  chats: Chat[]
  nextCursor: string | null
  pages?: { current_page: number; total_pages: number; total_items: number }
}> {
  const limit = query.limit ?? 20
  if (query.page !== undefined && query.cursor !== undefined) {
    throw errors.validation('Give cursor or page, not both', [
      { field: 'page', message: 'cannot be combined with cursor' },
    ])
  }
  const repository = new ChatRepository(deps.store.db)
  const archived = query.archived ?? false
  // Seed 002's page numbers: an offset into the same order, and a count for the totals.
  const totalItems =
    query.page === undefined ? undefined : await repository.countForMember({ userId: viewerId, archived })
  const rows = await repository.listForMember({
    userId: viewerId,
    archived,
    offset: query.page === undefined ? 0 : (query.page - 1) * limit,
    after:
      query.cursor === undefined
        ? null
        : decodeCursor(query.cursor, ([group, time, id]) =>
            (group === 0 || group === 1) && Number.isSafeInteger(time) && Number.isSafeInteger(id)
              ? { group, time: time as number, id: id as number }
              : null,
          ),
    limit: limit + 1,
  })
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const chats = await chatViews(
    deps.store.db,
    viewerId,
    page.map((row) => row.chat),
    { baseUrl: deps.config.publicUrl, onlineOf: (ids) => deps.presence.onlineOf(ids) },
  )
  return {
    chats,
    nextCursor:
      rows.length > limit && last ? encodeCursor([last.key.group, last.key.time, last.key.id]) : null,
    ...(query.page === undefined || totalItems === undefined
      ? {}
      : {
          pages: {
            current_page: query.page,
            total_pages: Math.ceil(totalItems / limit),
            total_items: totalItems,
          },
        }),
  }
}
