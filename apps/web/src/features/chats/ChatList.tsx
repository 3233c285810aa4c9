import type { Chat, Message } from '@parley/protocol'
import { lazy, type MouseEvent, Suspense, useEffect, useId, useMemo, useRef, useState } from 'react'
import { navigate, pathOf, type Route } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { type ChatFilter, isMuted, listChats, readByLabel } from '../../client/shell.ts'
import { strings } from '../../strings.ts'
import { formatListTime } from '../../ui/format.ts'
import { systemText } from '../../ui/system-text.ts'
import { NewChatDialog } from './NewChatDialog.tsx'
import { MessageSearchResults } from './SearchResults.tsx'

const NewGroupDialog = lazy(() => import('../groups/NewGroupDialog.tsx'))
const SettingsDialog = lazy(() => import('../settings/SettingsDialog.tsx'))

/** Where Ctrl/Cmd+K puts the focus (App.tsx). */
export const CHAT_SEARCH_ID = 'chat-search'
/** A message search runs once the query has this many characters. */
const MESSAGE_SEARCH_MIN = 2
/** Muting from the list mutes for a year (the API takes a time; "until I unmute" in practice). */
const MUTE_FOR_MS = 365 * 24 * 60 * 60 * 1000

type Dialog = 'chat' | 'group' | 'settings' | null

/**
 * The sidebar: search (chats by title, and messages on the server), filters, the archived view, and the
 * chats with their actions (mute, pin, archive).
 */
export function ChatList({ activeChatId }: { activeChatId: number | null }) {
  const client = useClient()
  const me = useStore((state) => state.me)
  const chats = useStore((state) => state.chats)
  const loaded = useStore((state) => state.chatsLoaded)
  const typing = useStore((state) => state.typing)
  const [dialog, setDialog] = useState<Dialog>(null)
  const [query, setQuery] = useState('')
  const [filter, setFilter] = useState<ChatFilter>('all')
  const [archived, setArchived] = useState(false)
  const ids = { filters: useId(), chats: useId() }
  const shown = useMemo(
    () => listChats({ chats }, { filter, archived, query }),
    [chats, filter, archived, query],
  )
  const archivedCount = useMemo(() => Object.values(chats).filter((chat) => chat.archived).length, [chats])
  const searching = query.trim().length >= MESSAGE_SEARCH_MIN

  return (
    <div className="sidebar">
      <header className="bar">
        {archived ? (
          <>
            <button type="button" className="small" onClick={() => setArchived(false)}>
              <span aria-hidden="true">← </span>
              {strings.list.backToChats}
            </button>
            <h1 className="bar-title">{strings.list.archived}</h1>
          </>
        ) : (
          <>
            <h1 className="bar-title">{strings.chats.title}</h1>
            <button type="button" className="primary small" onClick={() => setDialog('chat')}>
              {strings.chats.newChat}
            </button>
            <button type="button" className="small" onClick={() => setDialog('group')}>
              {strings.list.newGroup}
            </button>
            <button
              type="button"
              className="small icon"
              onClick={() => setDialog('settings')}
              aria-label={strings.list.settings}
              title={strings.list.settings}
            >
              <span aria-hidden="true">⚙</span>
            </button>
          </>
        )}
      </header>
      {me && (
        <p className="signed-in muted">
          {strings.chats.signedInAs(me.name)}
          <button type="button" className="link-button" onClick={() => void client.signOut()}>
            {strings.chats.signOut}
          </button>
        </p>
      )}
      <div className="list-tools">
        <label htmlFor={CHAT_SEARCH_ID} className="visually-hidden">
          {strings.list.search}
        </label>
        <input
          id={CHAT_SEARCH_ID}
          type="search"
          value={query}
          placeholder={strings.list.search}
          aria-keyshortcuts="Control+K Meta+K"
          autoComplete="off"
          onChange={(event) => setQuery(event.target.value)}
        />
        <fieldset className="filters" aria-describedby={ids.filters}>
          <legend id={ids.filters} className="visually-hidden">
            {strings.list.filters}
          </legend>
          {(['all', 'unread', 'groups'] as const).map((value) => (
            <button
              key={value}
              type="button"
              className="chip"
              aria-pressed={filter === value}
              onClick={() => setFilter(value)}
            >
              {strings.list[value]}
            </button>
          ))}
          {!archived && archivedCount > 0 && (
            <button type="button" className="chip" onClick={() => setArchived(true)}>
              {strings.list.archivedCount(archivedCount)}
            </button>
          )}
        </fieldset>
      </div>
      <nav aria-label={strings.chats.title} className="chat-list">
        {searching && (
          <h2 id={ids.chats} className="list-heading">
            {strings.list.chatsHeading}
          </h2>
        )}
        {!loaded ? (
          <p className="muted pad">{strings.chats.loading}</p>
        ) : shown.length === 0 ? (
          <p className="muted pad">
            {query || filter !== 'all'
              ? strings.list.noMatch
              : archived
                ? strings.list.archivedEmpty
                : strings.chats.empty}
          </p>
        ) : (
          <ul aria-labelledby={searching ? ids.chats : undefined}>
            {shown.map((chat) => (
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
        {searching && <MessageSearchResults query={query.trim()} />}
      </nav>
      {dialog === 'chat' && <NewChatDialog onClose={() => setDialog(null)} />}
      <Suspense fallback={null}>
        {dialog === 'group' && <NewGroupDialog onClose={() => setDialog(null)} />}
        {dialog === 'settings' && <SettingsDialog onClose={() => setDialog(null)} />}
      </Suspense>
    </div>
  )
}

/** Follows a same-window link with the app's router (modifier clicks keep the browser's behaviour). */
export function routeClick(route: Route) {
  return (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(route)
  }
}

function ChatRow(props: { chat: Chat; active: boolean; typing: boolean; meId: number | null }) {
  const { chat, active, typing, meId } = props
  const title = chatTitle(chat)
  const route: Route = { name: 'chat', chatId: chat.id }
  const last = chat.last_message
  const online = useStore((state) =>
    chat.type === 'private' && chat.participant
      ? (state.presence[chat.participant.id]?.online ?? false)
      : false,
  )
  const reads = useStore((state) => readByLabel(state, last))
  const muted = isMuted(chat)
  return (
    <li className="chat-row-item">
      <a
        href={pathOf(route)}
        onClick={routeClick(route)}
        className="chat-row"
        aria-current={active ? 'page' : undefined}
      >
        <Avatar name={title} url={chatAvatarUrl(chat)} online={online} />
        <span className="chat-row-main">
          <span className="chat-row-top">
            <span className="chat-row-title">{title}</span>
            {chat.pinned && <Flag symbol="📌" label={strings.list.pinned} />}
            {muted && <Flag symbol="🔕" label={strings.list.muted} />}
            {last && <span className="chat-row-time muted">{formatListTime(last.sent_at)}</span>}
          </span>
          <span className="chat-row-bottom">
            <span className={typing ? 'chat-row-preview accent' : 'chat-row-preview muted'}>
              {typing ? strings.chats.typing : preview(last, meId)}
            </span>
            {reads && (
              <span className="read-by muted">
                <span aria-hidden="true">✓ {reads}</span>
                <span className="visually-hidden">{readByText(reads)}</span>
              </span>
            )}
            {chat.unread_count > 0 && (
              <span className={muted ? 'badge badge-muted' : 'badge'}>
                <span aria-hidden="true">{chat.unread_count}</span>
                <span className="visually-hidden">{strings.chats.unread(chat.unread_count)}</span>
              </span>
            )}
          </span>
        </span>
      </a>
      <ChatActions chat={chat} title={title} />
    </li>
  )
}

/** "2/3" → "Read by 2 of 3". */
export function readByText(label: string): string {
  const [read = 0, of = 0] = label.split('/').map(Number)
  return strings.list.readBy(read, of)
}

function Flag({ symbol, label }: { symbol: string; label: string }) {
  return (
    <span className="flag" role="img" aria-label={label}>
      {symbol}
    </span>
  )
}

/** The photo of a chat: the other person's in a private chat, the group's in a group. */
export function chatAvatarUrl(chat: Chat): string | null {
  return chat.type === 'private' ? (chat.participant?.avatar_url ?? null) : chat.avatar_url
}

/** A photo (initials when there is none or it fails to load), with a dot when the person is online. */
export function Avatar({
  name,
  url = null,
  online = false,
}: {
  name: string
  url?: string | null
  online?: boolean
}) {
  const [failed, setFailed] = useState<string | null>(null)
  return (
    <span className="avatar-wrap">
      {url && failed !== url ? (
        <img className="avatar" src={url} alt="" onError={() => setFailed(url)} />
      ) : (
        <span className="avatar" aria-hidden="true">
          {initials(name)}
        </span>
      )}
      {online && (
        <span className="online-dot">
          <span className="visually-hidden">{strings.list.online}</span>
        </span>
      )}
    </span>
  )
}

/** The "⋯" menu of a chat row: a disclosure of plain buttons (Esc or a click elsewhere closes it). */
function ChatActions({ chat, title }: { chat: Chat; title: string }) {
  const client = useClient()
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const wrapper = useRef<HTMLDivElement>(null)
  const toggle = useRef<HTMLButtonElement>(null)
  const menuId = useId()

  useEffect(() => {
    if (!open) return
    const onPointer = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setOpen(false)
    }
    document.addEventListener('pointerdown', onPointer)
    return () => document.removeEventListener('pointerdown', onPointer)
  }, [open])

  const act = (body: Parameters<typeof client.chatSettings>[1]) => {
    setOpen(false)
    toggle.current?.focus()
    client.chatSettings(chat.id, body).then(
      () => setError(null),
      () => setError(strings.errors.generic),
    )
  }
  const muted = isMuted(chat)
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Esc closes the open menu; the buttons inside are the controls
    <div
      className="row-actions"
      ref={wrapper}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && open) {
          event.stopPropagation()
          setOpen(false)
          toggle.current?.focus()
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        className="small icon ghost"
        aria-label={strings.list.actions(title)}
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {open && (
        <div id={menuId} className="row-menu">
          <button
            type="button"
            onClick={() =>
              act({ muted_until: muted ? null : new Date(Date.now() + MUTE_FOR_MS).toISOString() })
            }
          >
            {muted ? strings.list.unmute : strings.list.mute}
          </button>
          <button type="button" onClick={() => act({ pinned: !chat.pinned })}>
            {chat.pinned ? strings.list.unpin : strings.list.pin}
          </button>
          <button type="button" onClick={() => act({ archived: !chat.archived })}>
            {chat.archived ? strings.list.unarchive : strings.list.archive}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="error small-text">
          {error}
        </p>
      )}
    </div>
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
  const mine =
    message.sender_id !== null && message.sender_id === meId && message.message_type !== 'system'
      ? strings.chats.you
      : ''
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
    case 'system':
      return systemText(message)
    case 'image':
    case 'video':
    case 'audio':
    case 'voice':
    case 'document':
    case 'gif':
    case 'sticker':
      return mediaSummary(message.message_type, message.attachments.length, message.content)
    default:
      return strings.conversation.unsupported(message.message_type)
  }
}

/** "📷 Photo: caption", "🖼 Album of 3", "📄 Document" — the line a media message shows in lists. */
export function mediaSummary(type: string, count: number, caption: string | null): string {
  const kind = count > 1 ? strings.media.album(count) : (strings.media.kinds[type] ?? type)
  return caption ? strings.media.withCaption(kind, caption) : kind
}
