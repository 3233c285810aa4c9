import type { Message } from '@parley/protocol'
import { type FormEvent, useEffect, useId, useRef, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { sortedChats } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { describe } from '../auth/SignIn.tsx'
import { chatTitle, initials } from '../chats/ChatList.tsx'
import { snippet } from './message-text.ts'

/**
 * The server's MAX_FORWARD_CHATS (@parley/protocol). Not imported: a value from the protocol package
 * would bring its TypeBox schemas into the bundle; types only come from there.
 */
const MAX_FORWARD_CHATS = 20

/**
 * Pick one or several chats and send each a copy of the message. A native modal <dialog>: the browser
 * traps focus, Esc closes it, and focus returns to the opener.
 */
export function ForwardDialog({
  message,
  onClose,
  onForwarded,
}: {
  message: Message
  onClose: () => void
  onForwarded: (count: number) => void
}) {
  const client = useClient()
  const chatsById = useStore((state) => state.chats)
  const dialog = useRef<HTMLDialogElement>(null)
  const ids = { title: useId(), legend: useId() }
  const [chosen, setChosen] = useState<ReadonlySet<number>>(new Set())
  const [sending, setSending] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const chats = sortedChats(chatsById)

  useEffect(() => {
    const element = dialog.current
    if (element && !element.open) element.showModal()
  }, [])

  function toggle(chatId: number) {
    setChosen((current) => {
      const next = new Set(current)
      if (next.has(chatId)) next.delete(chatId)
      else if (next.size < MAX_FORWARD_CHATS) next.add(chatId)
      return next
    })
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    if (chosen.size === 0) return
    setSending(true)
    setError(null)
    try {
      await client.forward(message.id, [...chosen])
      onForwarded(chosen.size)
      dialog.current?.close()
    } catch (caught) {
      setError(describe(caught))
      setSending(false)
    }
  }

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={ids.title} onClose={onClose}>
      <form onSubmit={onSubmit}>
        <header className="bar">
          <h2 id={ids.title} className="bar-title">
            {strings.messageActions.forwardTitle}
          </h2>
          <button type="button" className="small" onClick={() => dialog.current?.close()}>
            {strings.messageActions.close}
          </button>
        </header>
        <div className="stack pad">
          <p className="forward-preview">{snippet(message)}</p>
          <fieldset className="forward-chats">
            <legend id={ids.legend}>{strings.messageActions.forwardTo}</legend>
            <ul className="people">
              {chats.map((chat) => (
                <li key={chat.id}>
                  <label className="person">
                    <input
                      type="checkbox"
                      checked={chosen.has(chat.id)}
                      onChange={() => toggle(chat.id)}
                      disabled={sending}
                    />
                    <span className="avatar" aria-hidden="true">
                      {initials(chatTitle(chat))}
                    </span>
                    <span>{chatTitle(chat)}</span>
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={chosen.size === 0 || sending}>
            {strings.messageActions.forwardSend(chosen.size)}
          </button>
        </div>
      </form>
    </dialog>
  )
}
