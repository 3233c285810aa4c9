import type { PublicUser } from '@parley/protocol'
import { useEffect, useId, useState } from 'react'
import { useClient } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { describe } from '../auth/SignIn.tsx'
import { Avatar } from '../chats/ChatList.tsx'

const SEARCH_DELAY_MS = 250

/** Search people and tick the ones to add; the picked ones show above as removable chips. */
export function PeoplePicker(props: {
  picked: PublicUser[]
  onChange: (picked: PublicUser[]) => void
  exclude?: ReadonlySet<number>
}) {
  const client = useClient()
  const ids = { search: useId(), help: useId(), picked: useId() }
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<PublicUser[]>([])
  const [error, setError] = useState<string | null>(null)
  const { picked, onChange, exclude } = props

  useEffect(() => {
    const q = query.trim()
    if (q.length === 0) {
      setResults([])
      return
    }
    let current = true
    const timer = setTimeout(() => {
      client.searchUsers(q).then(
        (users) => {
          if (!current) return
          setResults(users.filter((user) => !exclude?.has(user.id)))
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
  }, [client, query, exclude])

  const isPicked = (user: PublicUser) => picked.some((candidate) => candidate.id === user.id)
  const toggle = (user: PublicUser) =>
    onChange(isPicked(user) ? picked.filter((candidate) => candidate.id !== user.id) : [...picked, user])

  return (
    <div className="stack">
      <p id={ids.picked} className="muted small-text" role="status">
        {strings.group.picked(picked.length)}
      </p>
      {picked.length > 0 && (
        <ul className="chips" aria-labelledby={ids.picked}>
          {picked.map((user) => (
            <li key={user.id}>
              <button type="button" className="chip" onClick={() => toggle(user)}>
                {user.name} <span aria-hidden="true">×</span>
                <span className="visually-hidden">{strings.group.remove(user.name)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="field">
        <label htmlFor={ids.search}>{strings.group.pick}</label>
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
      {results.length > 0 && (
        <ul className="people">
          {results.map((user) => (
            <li key={user.id}>
              <label className="person">
                <input type="checkbox" checked={isPicked(user)} onChange={() => toggle(user)} />
                <Avatar name={user.name} />
                <span>
                  {user.name}
                  {user.username && <span className="muted"> @{user.username}</span>}
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
