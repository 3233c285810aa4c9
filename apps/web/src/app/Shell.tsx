import { lazy, Suspense, useEffect, useState } from 'react'
import { useClient, useStore } from '../client/react.tsx'
import { unknownPeople } from '../client/shell.ts'
import { chatTitle } from '../features/chats/ChatList.tsx'
import { strings } from '../strings.ts'

const ChatInfoDialog = lazy(() => import('../features/groups/ChatInfoDialog.tsx'))

/**
 * Offline / reconnecting, as a status line over the whole app. It shows only after a first
 * connection was made or the browser says it is offline, so a normal start does not flash it.
 */
export function ConnectionBanner() {
  const connection = useStore((state) => state.connection)
  const online = useStore((state) => state.online)
  const pending = useStore((state) => state.outgoing.filter((entry) => entry.state === 'pending').length)
  const [wasReady, setWasReady] = useState(false)
  useEffect(() => {
    if (connection === 'ready') setWasReady(true)
  }, [connection])
  // `waiting` only follows a failed attempt, so a normal start (idle → connecting → ready) shows nothing.
  const text = !online
    ? strings.banner.offline
    : connection === 'waiting' || (wasReady && connection === 'connecting')
      ? strings.banner.reconnecting
      : ''
  return (
    <div className={text ? 'banner' : 'banner banner-empty'} role="status">
      {text && (
        <>
          <span>{text}</span>
          {pending > 0 && <span className="banner-count"> {strings.banner.pending(pending)}</span>}
        </>
      )}
    </div>
  )
}

/**
 * The button that opens the chat's info panel, laid over the right end of the conversation header
 * (presence is the header's sub-line, in the conversation).
 */
export function ChatTools({ chatId }: { chatId: number }) {
  const client = useClient()
  const chat = useStore((state) => state.chats[chatId])
  const isGroup = chat?.type === 'group'
  const [open, setOpen] = useState(false)
  // A group's members name the people its system messages speak of; former members are looked up.
  useEffect(() => {
    if (isGroup) client.loadGroup(chatId).catch(() => {})
  }, [client, chatId, isGroup])
  const unknown = useStore((state) => (isGroup && state.groups[chatId] ? unknownPeople(state, chatId) : ''))
  useEffect(() => {
    if (unknown) void client.resolvePeople(unknown.split(',').map(Number))
  }, [client, unknown])
  if (!chat) return null
  return (
    <div className="chat-tools">
      <button type="button" className="small" aria-haspopup="dialog" onClick={() => setOpen(true)}>
        <span aria-hidden="true" className="info-icon">
          i
        </span>
        {/* The visible words start the accessible name ("Chat info for Bob"), as axe's label-content rule asks. */}
        <span className="tools-label">
          {chat.type === 'group' ? strings.group.info : strings.group.chatInfo}
        </span>
        <span className="visually-hidden"> {strings.group.infoFor(chatTitle(chat))}</span>
      </button>
      <Suspense fallback={null}>
        {open && <ChatInfoDialog chat={chat} onClose={() => setOpen(false)} />}
      </Suspense>
    </div>
  )
}
