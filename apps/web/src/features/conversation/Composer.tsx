import type { Message } from '@parley/protocol'
import {
  type ClipboardEvent,
  type DragEvent,
  type FormEvent,
  type KeyboardEvent,
  type RefObject,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { lastEditable } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { AttachTray } from '../media/AttachTray.tsx'
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
  const meId = useStore((state) => state.me?.id ?? 0)
  const conversation = useStore((state) => state.conversations[chatId])
  const chat = useStore((state) => state.chats[chatId])
  const [text, setText] = useState('')
  const [saving, setSaving] = useState(false)
  const [files, setFiles] = useState<readonly File[]>([])
  const [dragging, setDragging] = useState(false)
  const picker = useRef<HTMLInputElement>(null)
  const ids = { input: useId(), help: useId(), bar: useId(), tray: useId() }

  function addFiles(added: readonly File[]) {
    if (added.length === 0) return
    setFiles((current) => [...current, ...added])
    input.current?.focus()
  }

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
    if (files.length > 0 && mode?.kind !== 'edit') {
      client.sendFiles(chatId, files, content, mode?.kind === 'reply' ? mode.message : null)
      setFiles([])
      setText('')
      onMode(null)
      input.current?.focus()
      return
    }
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

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const pasted = Array.from(event.clipboardData.files)
    if (pasted.length === 0 || mode?.kind === 'edit') return
    event.preventDefault()
    addFiles(pasted)
  }

  function onDragOver(event: DragEvent<HTMLFormElement>) {
    if (mode?.kind === 'edit' || !event.dataTransfer.types.includes('Files')) return
    event.preventDefault()
    setDragging(true)
  }

  function onDrop(event: DragEvent<HTMLFormElement>) {
    if (mode?.kind === 'edit') return
    event.preventDefault()
    setDragging(false)
    addFiles(Array.from(event.dataTransfer.files))
  }

  const quoted = mode?.message
  const withFiles = files.length > 0 && mode?.kind !== 'edit'
  return (
    <form
      className={dragging ? 'composer dragging' : 'composer'}
      onSubmit={onSubmit}
      onDragOver={onDragOver}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {dragging && (
        <p className="drop-hint" aria-hidden="true">
          {strings.media.dropHere}
        </p>
      )}
      {withFiles && (
        <AttachTray
          id={ids.tray}
          files={files}
          onRemove={(index) => setFiles((current) => current.filter((_, at) => at !== index))}
          onClear={() => setFiles([])}
        />
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
        {mode?.kind !== 'edit' && (
          <>
            <button
              type="button"
              className="icon-button attach-button"
              aria-label={strings.media.attach}
              title={strings.media.attach}
              onClick={() => picker.current?.click()}
            >
              <span aria-hidden="true">📎</span>
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              accept="image/*,video/*,audio/*,application/pdf,application/*,text/*"
              data-testid="attach-input"
              onChange={(event) => {
                addFiles(Array.from(event.target.files ?? []))
                event.target.value = ''
              }}
            />
          </>
        )}
        <label htmlFor={ids.input} className="visually-hidden">
          {withFiles ? strings.media.caption : strings.conversation.message}
        </label>
        <textarea
          id={ids.input}
          ref={input}
          rows={1}
          value={text}
          placeholder={withFiles ? strings.media.caption : strings.conversation.message}
          aria-describedby={[mode ? ids.bar : '', withFiles ? ids.tray : '', ids.help]
            .filter(Boolean)
            .join(' ')}
          maxLength={10_000}
          onChange={(event) => {
            setText(event.target.value)
            if (mode?.kind !== 'edit') client.typing(chatId, event.target.value.trim().length > 0)
          }}
          onBlur={() => client.typing(chatId, false)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        <button
          type="submit"
          className="primary"
          disabled={(!withFiles && text.trim().length === 0) || saving}
        >
          {mode?.kind === 'edit'
            ? strings.messageActions.save
            : withFiles
              ? strings.media.sendFiles(files.length)
              : strings.conversation.send}
        </button>
      </div>
      <p id={ids.help} className="visually-hidden">
        {strings.messageActions.composerHelp}
      </p>
    </form>
  )
}
