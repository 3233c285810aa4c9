import { type Static, Type } from '@sinclair/typebox'
import { CursorPage, Id } from './common.ts'
import { Message } from './messages.ts'

/** Marks around each matched word in a search snippet (plain text, never HTML). */
export const SEARCH_HIT_START = '<<'
export const SEARCH_HIT_END = '>>'

/**
 * `GET /api/search`. `q` is split into words (letters and digits; everything else, FTS syntax
 * included, only separates words); a message matches when it has every word, each as a word prefix
 * ("hel" finds "hello"), case-insensitively, accents significant.
 */
export const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 200 }),
    chat_id: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type SearchQuery = Static<typeof SearchQuery>

export const SearchResult = Type.Object({
  message: Message,
  chat_id: Id,
  /** A short extract of the text with each hit between `<<` and `>>`; the rest is the text as sent. */
  snippet: Type.String(),
  /** Relevance, higher is better; comparable only within one search. */
  rank: Type.Number(),
})
export type SearchResult = Static<typeof SearchResult>

export const SearchResponse = Type.Object({
  success: Type.Literal(true),
  results: Type.Array(SearchResult),
  pagination: CursorPage,
})
export type SearchResponse = Static<typeof SearchResponse>
