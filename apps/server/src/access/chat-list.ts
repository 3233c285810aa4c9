import type { Chat } from '@parley/protocol'
import type { Deps } from '../deps.ts'
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
 * - The cursor is opaque: base64url of the last row's sort key, so pages never repeat or skip a chat
 *   that did not move in between (a chat that moves — new message, pin — may appear again or be
 *   passed over, as in any list ordered by activity; `chat:*` and `message:new` updates tell the client).
 */
export async function chatList(
  deps: Pick<Deps, 'store' | 'presence'>,
  viewerId: number,
  query: { limit?: number | undefined; cursor?: string | undefined; archived?: boolean | undefined },
): Promise<{ chats: Chat[]; nextCursor: string | null }> {
  const limit = query.limit ?? 20
  const rows = await new ChatRepository(deps.store.db).listForMember({
    userId: viewerId,
    archived: query.archived ?? false,
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
    (ids) => deps.presence.onlineOf(ids),
  )
  return {
    chats,
    nextCursor:
      rows.length > limit && last ? encodeCursor([last.key.group, last.key.time, last.key.id]) : null,
  }
}
