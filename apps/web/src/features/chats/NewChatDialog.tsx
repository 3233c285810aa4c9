import type { PublicUser } from '@parley/protocol'
import { useEffect, useId, useRef, useState } from 'react'
import { navigate } from '../../app/router.ts'
import { useClient } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { describe } from '../auth/SignIn.tsx'
import { initials } from './ChatList.tsx'

const SEARCH_DELAY_MS = 250

/**
 * Find someone by name, username or exact phone number and open the private chat with them. A native
 * modal <dialog>: the browser traps focus, Esc closes it, and focus returns to the opener.
 */
export function NewChatDialog({ onClose }: { onClose: () => void }) {
  const client = useClient()
  const dialog = useRef<HTMLDialogElement>(null)
  const ids = { title: useId(), search: useId(), help: useId(), results: useId() }
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<PublicUser[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [opening, setOpening] = useState<number | null>(null)

  useEffect(() => {
    const element = dialog.current
    if (element && !element.open) element.showModal()
  }, [])

  useEffect(() => {
    const q = query.trim()
    if (q.length === 0) {
      setResults(null)
      return
    }
    let current = true
    const timer = setTimeout(() => {
      client.searchUsers(q).then(
        (users) => {
          if (!current) return
          setResults(users)
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

  async function open(user: PublicUser) {
    setOpening(user.id)
    try {
      const chatId = await client.openPrivateChat(user.id)
      onClose()
      navigate({ name: 'chat', chatId })
    } catch (caught) {
      setError(describe(caught))
      setOpening(null)
    }
  }

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={ids.title} onClose={onClose}>
      <header className="bar">
        <h2 id={ids.title} className="bar-title">
          {strings.newChat.title}
        </h2>
        <button type="button" className="small" onClick={() => dialog.current?.close()}>
          {strings.newChat.close}
        </button>
      </header>
      <div className="stack pad">
        <div className="field">
          <label htmlFor={ids.search}>{strings.newChat.search}</label>
          <input
            id={ids.search}
            type="search"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
            aria-describedby={ids.help}
            autoComplete="off"
            spellCheck={false}
          />
          <p id={ids.help} className="help">
            {strings.newChat.searchHelp}
          </p>
        </div>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {results && (
          <section aria-labelledby={ids.results}>
            <h3 id={ids.results} className="visually-hidden">
              {strings.newChat.results}
            </h3>
            {results.length === 0 ? (
              <p role="status" className="muted">
                {strings.newChat.none}
              </p>
            ) : (
              <ul className="people">
                {results.map((user) => (
                  <li key={user.id}>
                    <button
                      type="button"
                      className="person"
                      onClick={() => void open(user)}
                      disabled={opening !== null}
                    >
                      <span className="avatar" aria-hidden="true">
                        {initials(user.name)}
                      </span>
                      <span>
                        {user.name}
                        {user.username && <span className="muted"> @{user.username}</span>}
                        {opening === user.id && <span className="muted"> {strings.newChat.opening}</span>}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
        )}
      </div>
    </dialog>
  )
}
