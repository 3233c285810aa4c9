import type { SearchResult } from '@parley/protocol'
import { useEffect, useId, useState } from 'react'
import { pathOf, type Route } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { formatListTime } from '../../ui/format.ts'
import { describe } from '../auth/SignIn.tsx'
import { chatTitle, routeClick } from './ChatList.tsx'

const SEARCH_DELAY_MS = 300

/** Messages on the server that match the query; each opens its chat at the message. */
export function MessageSearchResults({ query }: { query: string }) {
  const client = useClient()
  const chats = useStore((state) => state.chats)
  const [results, setResults] = useState<SearchResult[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const headingId = useId()

  useEffect(() => {
    let current = true
    setResults(null)
    const timer = setTimeout(() => {
      client.searchMessages(query).then(
        (found) => {
          if (!current) return
          setResults(found)
          setError(null)
        },
        (caught: unknown) => {
          if (current) setError(describe(caught))
        },
      )
    }, SEARCH_DELAY_MS)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [client, query])

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId} className="list-heading">
        {strings.list.messagesHeading}
      </h2>
      {error ? (
        <p role="alert" className="error pad">
          {error}
        </p>
      ) : results === null ? (
        <p className="muted pad" role="status">
          {strings.list.searching}
        </p>
      ) : results.length === 0 ? (
        <p className="muted pad" role="status">
          {strings.list.noMessages}
        </p>
      ) : (
        <ul aria-labelledby={headingId}>
          {results.map((result) => {
            const chat = chats[result.chat_id]
            const route: Route = { name: 'chat', chatId: result.chat_id, messageId: result.message.id }
            return (
              <li key={result.message.id}>
                <a href={pathOf(route)} onClick={routeClick(route)} className="chat-row search-result">
                  <span className="chat-row-main">
                    <span className="chat-row-top">
                      <span className="chat-row-title">
                        {chat ? chatTitle(chat) : (result.message.sender?.name ?? '')}
                      </span>
                      <span className="chat-row-time muted">{formatListTime(result.message.sent_at)}</span>
                    </span>
                    <span className="chat-row-preview snippet">
                      <Snippet text={result.snippet} />
                    </span>
                  </span>
                </a>
              </li>
            )
          })}
        </ul>
      )}
    </section>
  )
}

/** The server marks hits as <<word>>: they become <mark> elements; everything else stays text. */
export function Snippet({ text }: { text: string }) {
  const parts = text.split(/<<|>>/u)
  return (
    <>
      {parts.map((part, index) =>
        // Odd parts sit between << and >>. The index is the part's identity: the text never reorders.
        // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable string
        index % 2 === 1 ? <mark key={index}>{part}</mark> : <span key={index}>{part}</span>,
      )}
    </>
  )
}
