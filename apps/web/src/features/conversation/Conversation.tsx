import type { Chat, Message } from '@parley/protocol'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { navigate } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { type Outgoing, statusOf } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { dayKey, formatDay, formatTime } from '../../ui/format.ts'
import { LinkifiedText } from '../../ui/LinkifiedText.tsx'
import { chatTitle, initials, summary } from '../chats/ChatList.tsx'
import { Composer } from './Composer.tsx'

/** One chat: header, history (older pages load on scroll up), live messages, composer. */
export function Conversation({ chatId }: { chatId: number }) {
  const client = useClient()
  const chat = useStore((state) => state.chats[chatId])
  const [missing, setMissing] = useState(false)

  useEffect(() => {
    setMissing(false)
    client.loadChat(chatId).then(
      (found) => setMissing(found === null),
      () => setMissing(true),
    )
    client.setVisibleChat(chatId)
    const onVisibility = () => client.setVisibleChat(document.visibilityState === 'visible' ? chatId : null)
    document.addEventListener('visibilitychange', onVisibility)
    return () => {
      document.removeEventListener('visibilitychange', onVisibility)
      client.setVisibleChat(null)
    }
  }, [client, chatId])

  if (!chat) {
    return (
      <section className="conversation empty-pane" aria-label={strings.conversation.messages}>
        <BackButton />
        <p className="muted pad">{missing ? strings.conversation.notFound : strings.chats.loading}</p>
      </section>
    )
  }
  const title = chatTitle(chat)
  return (
    <section className="conversation" aria-labelledby={`chat-title-${chat.id}`}>
      <header className="bar">
        <BackButton />
        <span className="avatar" aria-hidden="true">
          {initials(title)}
        </span>
        <div className="bar-heading">
          <h2 id={`chat-title-${chat.id}`} className="bar-title">
            {title}
          </h2>
          <TypingLine chat={chat} />
        </div>
      </header>
      <MessageList chat={chat} />
      <Composer chatId={chat.id} />
    </section>
  )
}

function BackButton() {
  return (
    <button type="button" className="back small" onClick={() => navigate({ name: 'chats' })}>
      <span aria-hidden="true">←</span>
      <span className="visually-hidden">{strings.conversation.back}</span>
    </button>
  )
}

/** "Bob is typing…" under the title; a polite live region, so it is announced once. */
function TypingLine({ chat }: { chat: Chat }) {
  const typing = useStore((state) => state.typing[chat.id])
  const someone = Object.keys(typing ?? {}).length > 0
  const text = !someone
    ? ''
    : chat.type === 'private' && chat.participant
      ? strings.conversation.typing(chat.participant.name)
      : strings.chats.typing
  return (
    <p className="bar-sub muted" role="status">
      {text}
    </p>
  )
}

type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: Message }
  | { kind: 'outgoing'; key: string; entry: Outgoing }

function MessageList({ chat }: { chat: Chat }) {
  const client = useClient()
  const conversation = useStore((state) => state.conversations[chat.id])
  const outgoing = useStore((state) => state.outgoing)
  const lastIncoming = useStore((state) => state.lastIncoming)
  const scroller = useRef<HTMLDivElement>(null)
  const top = useRef<HTMLDivElement>(null)
  const pinnedToBottom = useRef(true)
  const previousHeight = useRef(0)
  const previousFirst = useRef<number | undefined>(undefined)

  useEffect(() => {
    if (!conversation?.loaded) void client.loadHistory(chat.id, { older: false }).catch(() => {})
  }, [client, chat.id, conversation?.loaded])

  // Older pages load when the top of the list scrolls into view.
  useEffect(() => {
    const sentinel = top.current
    const root = scroller.current
    if (!sentinel || !root) return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting) && conversation?.loaded) {
          void client.loadHistory(chat.id, { older: true }).catch(() => {})
        }
      },
      { root, rootMargin: '200px 0px 0px 0px' },
    )
    observer.observe(sentinel)
    return () => observer.disconnect()
  }, [client, chat.id, conversation?.loaded])

  const rows = useMemo(() => {
    const out: Row[] = []
    let lastDay = ''
    const addDay = (iso: string) => {
      const key = dayKey(iso)
      if (key !== lastDay) {
        lastDay = key
        out.push({ kind: 'day', key: `day-${key}`, label: formatDay(iso) })
      }
    }
    for (const id of conversation?.order ?? []) {
      const message = conversation?.byId[id]
      if (!message) continue
      addDay(message.sent_at)
      out.push({ kind: 'message', key: `m-${id}`, message })
    }
    for (const entry of outgoing) {
      if (entry.chatId !== chat.id) continue
      addDay(entry.createdAt)
      out.push({ kind: 'outgoing', key: `o-${entry.clientMsgId}`, entry })
    }
    return out
  }, [conversation, outgoing, chat.id])

  // Keep the view where the reader is: at the bottom when they were there, and steady when older
  // messages are put above.
  useLayoutEffect(() => {
    const element = scroller.current
    if (!element || rows.length === 0) return
    const first = conversation?.order[0]
    if (previousFirst.current !== undefined && first !== previousFirst.current && !pinnedToBottom.current) {
      element.scrollTop += element.scrollHeight - previousHeight.current
    } else if (pinnedToBottom.current) {
      element.scrollTop = element.scrollHeight
    }
    previousFirst.current = first
    previousHeight.current = element.scrollHeight
  }, [rows, conversation?.order])

  const onScroll = () => {
    const element = scroller.current
    if (!element) return
    pinnedToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48
  }

  const announce =
    lastIncoming && lastIncoming.chat_id === chat.id && lastIncoming.sender
      ? strings.conversation.newMessageFrom(lastIncoming.sender.name, summary(lastIncoming))
      : ''

  return (
    <div className="messages" ref={scroller} onScroll={onScroll}>
      <div ref={top} className="messages-top">
        {conversation?.loading ? (
          <p className="muted small-text">{strings.conversation.loadingOlder}</p>
        ) : conversation?.loaded && !conversation.hasMoreBefore ? (
          <p className="muted small-text">{strings.conversation.beginning}</p>
        ) : null}
      </div>
      <ol className="message-list" aria-label={strings.conversation.messages}>
        {rows.map((row) =>
          row.kind === 'day' ? (
            <li key={row.key} className="day-separator">
              <span>{row.label}</span>
            </li>
          ) : row.kind === 'message' ? (
            <MessageBubble key={row.key} chat={chat} message={row.message} />
          ) : (
            <OutgoingBubble key={row.key} entry={row.entry} />
          ),
        )}
      </ol>
      <p className="visually-hidden" aria-live="polite">
        {announce}
      </p>
    </div>
  )
}

function MessageBubble({ chat, message }: { chat: Chat; message: Message }) {
  const me = useStore((state) => state.me)
  const status = useStore((state) => statusOf(state, message))
  const mine = message.sender_id !== null && message.sender_id === me?.id
  if (message.message_type === 'system') {
    return (
      <li className="system-message muted">
        <span>{summary(message)}</span>
      </li>
    )
  }
  return (
    <li className={mine ? 'bubble mine' : 'bubble'}>
      {chat.type === 'group' && !mine && message.sender && (
        <span className="bubble-sender">{message.sender.name}</span>
      )}
      <span className="bubble-text">
        {message.deleted ? (
          <em>{strings.conversation.deleted}</em>
        ) : message.message_type === 'text' ? (
          <LinkifiedText text={message.content ?? ''} />
        ) : (
          summary(message)
        )}
      </span>
      <span className="bubble-meta">
        {message.edited_at && <span>{strings.conversation.edited}</span>}
        <time dateTime={message.sent_at}>{formatTime(message.sent_at)}</time>
        {status && <Ticks status={status} />}
      </span>
    </li>
  )
}

function OutgoingBubble({ entry }: { entry: Outgoing }) {
  const client = useClient()
  return (
    <li className={entry.state === 'failed' ? 'bubble mine failed' : 'bubble mine'}>
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
    </li>
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
