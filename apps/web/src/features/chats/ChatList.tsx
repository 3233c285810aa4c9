import type { Chat, Message } from '@parley/protocol'
import { type MouseEvent, useMemo, useState } from 'react'
import { navigate, pathOf } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { sortedChats } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { formatListTime } from '../../ui/format.ts'
import { NewChatDialog } from './NewChatDialog.tsx'

/** The sidebar: who you are, new chat, sign out, and the chats by last activity. */
export function ChatList({ activeChatId }: { activeChatId: number | null }) {
  const client = useClient()
  const me = useStore((state) => state.me)
  const chats = useStore((state) => state.chats)
  const loaded = useStore((state) => state.chatsLoaded)
  const typing = useStore((state) => state.typing)
  const [dialogOpen, setDialogOpen] = useState(false)
  const sorted = useMemo(() => sortedChats(chats), [chats])

  return (
    <div className="sidebar">
      <header className="bar">
        <h1 className="bar-title">{strings.chats.title}</h1>
        <button type="button" className="primary small" onClick={() => setDialogOpen(true)}>
          {strings.chats.newChat}
        </button>
        <button type="button" className="small" onClick={() => void client.signOut()}>
          {strings.chats.signOut}
        </button>
      </header>
      {me && <p className="signed-in muted">{strings.chats.signedInAs(me.name)}</p>}
      <nav aria-label={strings.chats.title} className="chat-list">
        {!loaded ? (
          <p className="muted pad">{strings.chats.loading}</p>
        ) : sorted.length === 0 ? (
          <p className="muted pad">{strings.chats.empty}</p>
        ) : (
          <ul>
            {sorted.map((chat) => (
              <ChatRow
                key={chat.id}
                chat={chat}
                active={chat.id === activeChatId}
                typing={Object.keys(typing[chat.id] ?? {}).length > 0}
                meId={me?.id ?? null}
              />
            ))}
          </ul>
        )}
      </nav>
      {dialogOpen && <NewChatDialog onClose={() => setDialogOpen(false)} />}
    </div>
  )
}

function ChatRow(props: { chat: Chat; active: boolean; typing: boolean; meId: number | null }) {
  const { chat, active, typing, meId } = props
  const title = chatTitle(chat)
  const href = pathOf({ name: 'chat', chatId: chat.id })
  const open = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate({ name: 'chat', chatId: chat.id })
  }
  const last = chat.last_message
  return (
    <li>
      <a href={href} onClick={open} className="chat-row" aria-current={active ? 'page' : undefined}>
        <span className="avatar" aria-hidden="true">
          {initials(title)}
        </span>
        <span className="chat-row-main">
          <span className="chat-row-top">
            <span className="chat-row-title">{title}</span>
            {last && <span className="chat-row-time muted">{formatListTime(last.sent_at)}</span>}
          </span>
          <span className="chat-row-bottom">
            <span className={typing ? 'chat-row-preview accent' : 'chat-row-preview muted'}>
              {typing ? strings.chats.typing : preview(last, meId)}
            </span>
            {chat.unread_count > 0 && (
              <span className="badge">
                <span aria-hidden="true">{chat.unread_count}</span>
                <span className="visually-hidden">{strings.chats.unread(chat.unread_count)}</span>
              </span>
            )}
          </span>
        </span>
      </a>
    </li>
  )
}

export function chatTitle(chat: Chat): string {
  return chat.type === 'private' ? (chat.participant?.name ?? '') : (chat.name ?? '')
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/u).filter(Boolean)
  return parts
    .slice(0, 2)
    .map((part) => Array.from(part)[0]?.toUpperCase() ?? '')
    .join('')
}

/** One line of the last message, as text. */
export function preview(message: Message | null, meId: number | null): string {
  if (!message) return strings.chats.noMessages
  const mine = message.sender_id !== null && message.sender_id === meId ? strings.chats.you : ''
  return mine + summary(message).replace(/\s+/gu, ' ')
}

export function summary(message: Message): string {
  if (message.deleted) return strings.conversation.deleted
  switch (message.message_type) {
    case 'text':
      return message.content ?? ''
    case 'location':
      return strings.conversation.location(message.location?.name ?? '')
    case 'contact':
      return strings.conversation.contact(message.contact?.name ?? '')
    default:
      return strings.conversation.unsupported(message.message_type)
  }
}
