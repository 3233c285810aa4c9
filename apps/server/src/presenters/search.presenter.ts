import { SEARCH_HIT_END, SEARCH_HIT_START } from '@parley/protocol'

/** Words the snippet shows around the hits. */
const SNIPPET_WORDS = 16
/** Words shown before the first hit of the window, when there are some. */
const LEAD_WORDS = 3
const ELLIPSIS = '…'
const WORD = /[\p{L}\p{N}]+/gu

/**
 * A search snippet of a message's text: at most `SNIPPET_WORDS` words, the window with the most
 * hits, each word that starts with one of `terms` (lower-cased, as the search matched them) between
 * `<<` and `>>`, and `…` where text was cut. Everything else is the text as sent — never HTML. Made
 * here rather than by the database (FTS5 `snippet()`, PostgreSQL `ts_headline`) so both dialects
 * give the same snippet, and because `ts_headline` drops anything that looks like an HTML tag.
 */
export function searchSnippet(content: string, terms: readonly string[]): string {
  const words = [...content.matchAll(WORD)].map((match) => {
    const start = match.index
    const end = start + match[0].length
    const lower = match[0].normalize('NFC').toLowerCase()
    return { start, end, hit: terms.some((term) => lower.startsWith(term)) }
  })
  if (words.length === 0) return content

  // The window (of SNIPPET_WORDS words, starting a little before a hit) holding the most hits.
  let from = 0
  let best = -1
  for (let index = 0; index < words.length; index += 1) {
    if (!words[index]?.hit) continue
    const start = Math.max(0, Math.min(index - LEAD_WORDS, words.length - SNIPPET_WORDS))
    const hits = words.slice(start, start + SNIPPET_WORDS).filter((word) => word.hit).length
    if (hits > best) {
      best = hits
      from = start
    }
  }
  const to = Math.min(words.length, from + SNIPPET_WORDS) - 1
  const textStart = from === 0 ? 0 : (words[from]?.start ?? 0)
  const textEnd = to === words.length - 1 ? content.length : (words[to]?.end ?? content.length)

  let out = from === 0 ? '' : ELLIPSIS
  let cursor = textStart
  for (const word of words.slice(from, to + 1)) {
    if (!word.hit) continue
    out += `${content.slice(cursor, word.start)}${SEARCH_HIT_START}${content.slice(word.start, word.end)}${SEARCH_HIT_END}`
    cursor = word.end
  }
  out += content.slice(cursor, textEnd)
  return to === words.length - 1 ? out : `${out}${ELLIPSIS}`
}
