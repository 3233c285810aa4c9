import { type FormEvent, type KeyboardEvent, useId, useRef, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { strings } from '../../strings.ts'

/** Multi-line text; Enter sends, Shift+Enter breaks the line. Sends go through the SDK outbox. */
export function Composer({ chatId }: { chatId: number }) {
  const client = useClient()
  const connection = useStore((state) => state.connection)
  const [text, setText] = useState('')
  const input = useRef<HTMLTextAreaElement>(null)
  const ids = { input: useId(), help: useId() }

  function send() {
    const content = text.trim()
    if (content.length === 0) return
    client.sendText(chatId, content)
    setText('')
    input.current?.focus()
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    send()
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault()
      send()
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      {connection !== 'ready' && (
        <p className="connection muted" role="status">
          {connection === 'connecting' || connection === 'idle'
            ? strings.connection.connecting
            : strings.connection.offline}
        </p>
      )}
      <div className="composer-row">
        <label htmlFor={ids.input} className="visually-hidden">
          {strings.conversation.message}
        </label>
        <textarea
          id={ids.input}
          ref={input}
          rows={1}
          value={text}
          placeholder={strings.conversation.message}
          aria-describedby={ids.help}
          maxLength={10_000}
          onChange={(event) => {
            setText(event.target.value)
            client.typing(chatId, event.target.value.trim().length > 0)
          }}
          onBlur={() => client.typing(chatId, false)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={text.trim().length === 0}>
          {strings.conversation.send}
        </button>
      </div>
      <p id={ids.help} className="visually-hidden">
        {strings.conversation.composerHelp}
      </p>
    </form>
  )
}
