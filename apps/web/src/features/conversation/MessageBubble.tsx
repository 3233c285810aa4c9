import type { Chat, Message } from '@parley/protocol'
import { memo, useCallback, useEffect, useId, useRef, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { type Outgoing, statusOf, type Upload } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { formatTime } from '../../ui/format.ts'
import { LinkifiedText } from '../../ui/LinkifiedText.tsx'
import { systemText } from '../../ui/system-text.ts'
import { summary } from '../chats/ChatList.tsx'
import { ReadBy } from '../groups/ReadBy.tsx'
import { boxStyle, MessageMedia } from '../media/MediaView.tsx'
import { MessageMenu } from './MessageMenu.tsx'
import { senderName, snippet } from './message-text.ts'

export interface MessageHandlers {
  onReply: (message: Message) => void
  onEdit: (message: Message) => void
  onForward: (message: Message) => void
  /** Scroll to (and highlight) a message, loading its page when it is not in the window. */
  onJump: (messageId: number) => void
  onNotice: (text: string) => void
}

/** One message: quoted reply, text, reactions, time, edited label and ticks, and its action menu. */
export const MessageBubble = memo(function MessageBubble({
  chat,
  message,
  highlighted,
  handlers,
}: {
  chat: Chat
  message: Message
  highlighted: boolean
  handlers: MessageHandlers
}) {
  const meId = useStore((state) => state.me?.id ?? 0)
  // System messages name people by id: re-word them when a name arrives (a member who has left).
  const people = useStore((state) => state.people)
  const status = useStore((state) => statusOf(state, message))
  const [menuOpen, setMenuOpen] = useState(false)
  const trigger = useRef<HTMLButtonElement>(null)
  const bubble = useRef<HTMLDivElement>(null)
  const mine = message.sender_id !== null && message.sender_id === meId
  const closeMenu = useCallback((refocus: boolean) => {
    setMenuOpen(false)
    if (refocus) trigger.current?.focus()
  }, [])

  // A message reached by a deep link or a quote takes the focus, so a keyboard or screen reader user
  // lands where sighted users see the highlight.
  useEffect(() => {
    if (highlighted) bubble.current?.focus({ preventScroll: true })
  }, [highlighted])

  if (message.message_type === 'system') {
    return (
      <div className="system-message muted">
        <span>{systemText(message, people, meId)}</span>
      </div>
    )
  }
  const who = senderName(message.sender_id, meId, chat, message)
  return (
    <div className={mine ? 'bubble-row mine' : 'bubble-row'}>
      <div
        ref={bubble}
        tabIndex={-1}
        className={`bubble${mine ? ' mine' : ''}${highlighted ? ' highlight' : ''}${message.deleted ? ' deleted' : ''}${message.message_type === 'sticker' && !message.deleted ? ' sticker' : ''}${message.attachments.length > 0 ? ' has-media' : ''}`}
      >
        {chat.type === 'group' && !mine && message.sender && (
          <span className="bubble-sender">{message.sender.name}</span>
        )}
        {message.forwarded && !message.deleted && (
          <span className="bubble-forwarded">{strings.messageActions.forwarded}</span>
        )}
        {message.reply_to && !message.deleted && (
          <Quote chat={chat} meId={meId} quote={message.reply_to} onJump={handlers.onJump} />
        )}
        {!message.deleted && message.attachments.length > 0 && <MessageMedia message={message} />}
        {(message.deleted || message.attachments.length === 0 || message.content) && (
          <span className="bubble-text">
            {message.deleted ? (
              <em>{strings.conversation.deleted}</em>
            ) : message.message_type === 'text' || message.attachments.length > 0 ? (
              <LinkifiedText text={message.content ?? ''} />
            ) : (
              summary(message)
            )}
          </span>
        )}
        {message.reactions.length > 0 && (
          <Reactions message={message} meId={meId} onNotice={handlers.onNotice} />
        )}
        <span className="bubble-meta">
          {message.edited_at && !message.deleted && <span>{strings.conversation.edited}</span>}
          {mine && chat.type === 'group' && !message.deleted && <ReadBy message={message} />}
          <time dateTime={message.sent_at}>{formatTime(message.sent_at)}</time>
          {status && <Ticks status={status} />}
        </span>
      </div>
      <button
        ref={trigger}
        type="button"
        className="message-actions-button"
        aria-haspopup="menu"
        aria-expanded={menuOpen}
        aria-label={strings.messageActions.actionsFor(who, snippet(message))}
        onClick={() => setMenuOpen((open) => !open)}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {menuOpen && trigger.current && (
        <MessageMenu
          message={message}
          mine={mine}
          meId={meId}
          anchor={trigger.current}
          handlers={handlers}
          onClose={closeMenu}
        />
      )}
    </div>
  )
})

function Quote({
  chat,
  meId,
  quote,
  onJump,
}: {
  chat: Chat
  meId: number
  quote: NonNullable<Message['reply_to']>
  onJump: (messageId: number) => void
}) {
  const quoted = useStore((state) => state.conversations[chat.id]?.byId[quote.id])
  const hint = useId()
  const who = senderName(quote.sender_id, meId, chat, quoted)
  const text = snippet(quote)
  if (quote.deleted) {
    return <span className="quote quote-deleted">{strings.messageActions.quotedDeleted}</span>
  }
  // The visible sender and text are the button's name (what a voice-control user would say); what
  // pressing it does is its description.
  return (
    <button type="button" className="quote" aria-describedby={hint} onClick={() => onJump(quote.id)}>
      {quote.thumbnail_url && <img className="quote-thumb" src={quote.thumbnail_url} alt="" />}
      <span className="quote-sender">{who}</span> <span className="quote-text">{text}</span>
      <span id={hint} className="visually-hidden">
        {strings.messageActions.quoteHint}
      </span>
    </button>
  )
}

/** The reactions under a message: each emoji with its count; mine is pressed and a click takes it back. */
function Reactions({
  message,
  meId,
  onNotice,
}: {
  message: Message
  meId: number
  onNotice: (text: string) => void
}) {
  const client = useClient()
  return (
    <fieldset className="reactions" aria-label={strings.messageActions.reactions}>
      {message.reactions.map((reaction) => {
        const names = reaction.users.map((user) =>
          user.id === meId ? strings.messageActions.you : user.name,
        )
        const pressed = reaction.users.some((user) => user.id === meId)
        return (
          <button
            key={reaction.emoji}
            type="button"
            className="reaction"
            aria-pressed={pressed}
            aria-label={strings.messageActions.reactionBy(reaction.emoji, reaction.count, names.join(', '))}
            title={names.join(', ')}
            onClick={() =>
              client
                .toggleReaction(message, reaction.emoji)
                .catch(() => onNotice(strings.messageActions.failed))
            }
          >
            <span aria-hidden="true">{reaction.emoji}</span>
            <span aria-hidden="true" className="reaction-count">
              {reaction.count}
            </span>
          </button>
        )
      })}
    </fieldset>
  )
}

export function OutgoingBubble({ entry, chat }: { entry: Outgoing; chat: Chat }) {
  const client = useClient()
  const meId = useStore((state) => state.me?.id ?? 0)
  return (
    <div className="bubble-row mine">
      <div className={entry.state === 'failed' ? 'bubble mine failed' : 'bubble mine'}>
        {entry.replyTo && (
          <span className="quote">
            <span className="quote-sender">{senderName(entry.replyTo.sender_id, meId, chat)}</span>
            <span className="quote-text">{snippet(entry.replyTo)}</span>
          </span>
        )}
        <span className="bubble-text">
          <LinkifiedText text={entry.content} />
        </span>
        <span className="bubble-meta">
          <time dateTime={entry.createdAt}>{formatTime(entry.createdAt)}</time>
          {entry.state === 'failed' ? (
            <>
              <span className="error-text">{strings.conversation.failed}</span>
              <button type="button" className="small" onClick={() => client.retry(entry.clientMsgId)}>
                {strings.conversation.retry}
              </button>
            </>
          ) : (
            <Ticks status="pending" />
          )}
        </span>
      </div>
    </div>
  )
}

/** A media message on its way: the files (previews), progress and cancel; or its coded error, retry and remove. */
export function UploadBubble({ upload, chat }: { upload: Upload; chat: Chat }) {
  const client = useClient()
  const meId = useStore((state) => state.me?.id ?? 0)
  const percent = Math.round(upload.progress * 100)
  const failed = upload.state === 'failed'
  const error = upload.error
  const errorText = error
    ? strings.media.errorCoded(
        strings.media.errors[error.code] ?? strings.media.otherError,
        error.status,
        error.code,
      )
    : ''
  return (
    <div className="bubble-row mine">
      <div className={failed ? 'bubble mine has-media failed upload' : 'bubble mine has-media upload'}>
        {upload.replyTo && (
          <span className="quote">
            <span className="quote-sender">{senderName(upload.replyTo.sender_id, meId, chat)}</span>
            <span className="quote-text">{snippet(upload.replyTo)}</span>
          </span>
        )}
        <ul className={upload.files.length > 1 ? 'upload-files album' : 'upload-files'}>
          {upload.files.map((file, index) => {
            const preview = upload.previews[index]
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: a send's files never change order, and two may share a name
              <li key={`${file.name}-${index}`}>
                {preview && file.type.startsWith('image/') ? (
                  <img
                    src={preview}
                    alt={file.name}
                    style={upload.files.length > 1 ? undefined : boxStyle({ width: null, height: null })}
                  />
                ) : (
                  <span className="media-document">
                    <span className="media-document-icon" aria-hidden="true">
                      📄
                    </span>
                    <span className="media-document-name">{file.name}</span>
                  </span>
                )}
              </li>
            )
          })}
        </ul>
        {upload.caption && (
          <span className="bubble-text">
            <LinkifiedText text={upload.caption} />
          </span>
        )}
        {failed ? (
          <span className="bubble-meta upload-error" role="alert">
            <span className="error-text">{errorText}</span>
            <button type="button" className="small" onClick={() => client.retryUpload(upload.clientMsgId)}>
              {strings.conversation.retry}
            </button>
            <button type="button" className="small" onClick={() => client.removeUpload(upload.clientMsgId)}>
              {strings.media.remove}
            </button>
          </span>
        ) : (
          <span className="bubble-meta">
            <progress max={100} value={percent} aria-label={strings.media.uploading(percent)} />
            <button type="button" className="small" onClick={() => client.removeUpload(upload.clientMsgId)}>
              {strings.media.cancelUpload}
            </button>
          </span>
        )}
      </div>
    </div>
  )
}

const TICKS = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓' } as const

/** The message's state as a symbol with its name for assistive technology (and tests). */
function Ticks({ status }: { status: keyof typeof TICKS }) {
  return (
    <span role="img" aria-label={strings.status[status]} className={`ticks ticks-${status}`}>
      {TICKS[status]}
    </span>
  )
}
