import { SearchQuery, SearchResponse } from '@parley/protocol'
import { searchMessages } from '../../access/search.ts'
import type { Deps } from '../../deps.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

export function searchRoutes(app: App, deps: Deps) {
  app.get(
    '/api/search',
    {
      onRequest: authenticate(deps),
      schema: {
        tags: ['messages'],
        summary: 'Search the text of your messages',
        description:
          'Full-text search over messages you can see (chats you are a member of; not deleted, not deleted for you). `q` is taken as plain words (letters and digits; any other character only separates words): a message matches when it contains every word as a word prefix ("hel" finds "hello"), case-insensitively. Best match first (more hits rank higher), ties newest first. `snippet` is plain text with each hit between `<<` and `>>`. `chat_id` limits the search to one chat. Pass `pagination.next_cursor` as `cursor` for the next page.',
        security: secured,
        querystring: SearchQuery,
        response: { 200: SearchResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { results, nextCursor } = await searchMessages(deps, caller(request).userId, request.query)
      return {
        success: true as const,
        results,
        pagination: { next_cursor: nextCursor, has_more: nextCursor !== null },
      }
    },
  )
}
