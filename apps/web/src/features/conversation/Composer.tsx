import type { Message } from '@parley/protocol'
import { type FormEvent, type KeyboardEvent, type RefObject, useEffect, useId, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { lastEditable } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { senderName, snippet } from './message-text.ts'

/** The composer answers a message (reply) or replaces the text of one of mine (edit). */
export type ComposerMode = { kind: 'reply' | 'edit'; message: Message }

/**
 * Multi-line text; Enter sends, Shift+Enter breaks the line. Sends go through the SDK outbox. ↑ in an
 * empty composer edits my last message; Esc leaves reply or edit mode.
 */
export function Composer({
  chatId,
  mode,
  onMode,
  onNotice,
  inputRef: input,
}: {
  chatId: number
  mode: ComposerMode | null
  onMode: (mode: ComposerMode | null) => void
  onNotice: (text: string) => void
  /** The textarea, for the conversation to put the focus back in it. */
  inputRef: RefObject<HTMLTextAreaElement | null>
}) {
  const client = useClient()
  const connection = useStore((state) => state.connection)
  const meId = useStore((state) => state.me?.id ?? 0)
  const conversation = useStore((state) => state.conversations[chatId])
  const chat = useStore((state) => state.chats[chatId])
  const [text, setText] = useState('')
  const [saving, setSaving] = useState(false)
  const ids = { input: useId(), help: useId(), bar: useId() }

  // Entering a mode puts the cursor in the composer; edit mode starts from the message's text.
  const modeKey = mode ? `${mode.kind}-${mode.message.id}` : null
  const editText = mode?.kind === 'edit' ? (mode.message.content ?? '') : null
  useEffect(() => {
    if (modeKey === null) return
    if (editText !== null) setText(editText)
    input.current?.focus()
  }, [modeKey, editText, input])

  function leaveMode() {
    if (mode?.kind === 'edit') setText('')
    onMode(null)
    input.current?.focus()
  }

  async function submit() {
    const content = text.trim()
    if (content.length === 0) return
    if (mode?.kind === 'edit') {
      if (content === (mode.message.content ?? '').trim()) return leaveMode()
      setSaving(true)
      try {
        await client.editMessage(chatId, mode.message.id, content)
        setText('')
        onMode(null)
      } catch {
        onNotice(strings.messageActions.failed)
      } finally {
        setSaving(false)
      }
      input.current?.focus()
      return
    }
    client.sendText(chatId, content, mode?.kind === 'reply' ? mode.message : null)
    setText('')
    onMode(null)
    input.current?.focus()
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    void submit()
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.nativeEvent.isComposing) return
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault()
      void submit()
    } else if (event.key === 'Escape' && mode) {
      event.preventDefault()
      leaveMode()
    } else if (event.key === 'ArrowUp' && text.length === 0 && !mode) {
      const last = lastEditable(conversation, meId)
      if (last) {
        event.preventDefault()
        onMode({ kind: 'edit', message: last })
      }
    }
  }

  const quoted = mode?.message
  return (
    <form className="composer" onSubmit={onSubmit}>
      {connection !== 'ready' && (
        <p className="connection muted" role="status">
          {connection === 'connecting' || connection === 'idle'
            ? strings.connection.connecting
            : strings.connection.offline}
        </p>
      )}
      {mode && quoted && (
        <div className="composer-mode" id={ids.bar}>
          <div className="composer-mode-text">
            <span className="composer-mode-title">
              {mode.kind === 'reply'
                ? strings.messageActions.replyingTo(senderName(quoted.sender_id, meId, chat, quoted))
                : strings.messageActions.editing}
            </span>
            <span className="composer-mode-snippet">{snippet(quoted)}</span>
          </div>
          <button type="button" className="small icon-button" onClick={leaveMode}>
            <span aria-hidden="true">✕</span>
            <span className="visually-hidden">
              {mode.kind === 'reply' ? strings.messageActions.cancelReply : strings.messageActions.cancelEdit}
            </span>
          </button>
        </div>
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
          aria-describedby={mode ? `${ids.bar} ${ids.help}` : ids.help}
          maxLength={10_000}
          onChange={(event) => {
            setText(event.target.value)
            if (mode?.kind !== 'edit') client.typing(chatId, event.target.value.trim().length > 0)
          }}
          onBlur={() => client.typing(chatId, false)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={text.trim().length === 0 || saving}>
          {mode?.kind === 'edit' ? strings.messageActions.save : strings.conversation.send}
        </button>
      </div>
      <p id={ids.help} className="visually-hidden">
        {strings.messageActions.composerHelp}
      </p>
    </form>
  )
}
