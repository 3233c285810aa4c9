import type { SearchQuery, SearchResult } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { searchSnippet } from '../presenters/search.presenter.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { SearchRepository } from '../store/search.repository.ts'
import { chatForMember } from './chats.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { messageViews } from './message-views.ts'

const MAX_TERMS = 12
const MAX_TERM_LENGTH = 64

/**
 * The words of a search: runs of letters and digits. Everything else — spaces, punctuation, the
 * quotes, stars, parentheses and operators of either full-text syntax — only separates words, so a
 * query can never be FTS syntax.
 */
export function searchTerms(q: string): string[] {
  const words =
    q
      .normalize('NFC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  return [...new Set(words.map((word) => word.slice(0, MAX_TERM_LENGTH)))].slice(0, MAX_TERMS)
}

/**
 * Full-text search over the messages `viewerId` can see (current member of the chat, not hidden for
 * them, not deleted), best match first, with a snippet; with `chat_id`, in that chat only (`not_found`
 * unless the caller is a member). A message matches when it has every word of `q` as a word prefix.
 * Keyset pages: the cursor holds the last hit's (rank, id). A constant number of queries per page.
 */
export async function searchMessages(
  deps: Pick<Deps, 'store' | 'config'>,
  viewerId: number,
  query: SearchQuery,
): Promise<{ results: SearchResult[]; nextCursor: string | null }> {
  const terms = searchTerms(query.q)
  if (terms.length === 0) {
    throw errors.validation('q has no words to search for', [
      { field: 'q', message: 'must contain at least one letter or digit' },
    ])
  }
  if (query.chat_id !== undefined) await chatForMember(deps, viewerId, query.chat_id)
  const limit = query.limit ?? 20
  const rows = await new SearchRepository(deps.store.db, deps.store.dialect).search({
    viewerId,
    terms,
    chatId: query.chat_id ?? null,
    after:
      query.cursor === undefined
        ? null
        : decodeCursor(query.cursor, ([rank, id]) =>
            typeof rank === 'number' && Number.isFinite(rank) && Number.isSafeInteger(id)
              ? { rank, id: id as number }
              : null,
          ),
    limit: limit + 1,
  })
  const page = rows.slice(0, limit)
  const chats = await new ChatRepository(deps.store.db).findByIds(page.map((row) => row.chat_id))
  const messages = await messageViews(deps.store.db, viewerId, chats, page, undefined, {
    baseUrl: deps.config.publicUrl,
  })
  const last = page.at(-1)
  return {
    results: page.map((row, index) => ({
      // messageViews answers one view per row, in order.
      message: messages[index] as SearchResult['message'],
      chat_id: row.chat_id,
      snippet: searchSnippet(row.content ?? '', terms),
      rank: row.rank,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.rank, last.id]) : null,
  }
}
