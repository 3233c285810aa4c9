import { useEffect, useState } from 'react'
import { useClient, useStore } from '../client/react.tsx'
import { totalUnread } from '../client/shell.ts'
import { SignIn } from '../features/auth/SignIn.tsx'
import { CHAT_SEARCH_ID, ChatList } from '../features/chats/ChatList.tsx'
import { Conversation } from '../features/conversation/Conversation.tsx'
import { strings } from '../strings.ts'
import { navigate, useRoute } from './router.ts'
import { ChatTools, ConnectionBanner } from './Shell.tsx'

/** Signed out: the sign-in screen. Signed in: chat list and conversation (one at a time on a phone). */
export function App() {
  const client = useClient()
  const me = useStore((state) => state.me)
  const [resuming, setResuming] = useState(true)

  useEffect(() => {
    client
      .resume()
      .catch(() => false)
      .finally(() => setResuming(false))
  }, [client])

  // Muted and archived chats do not count: they are the ones people asked to stop hearing about.
  const unread = useStore((state) => totalUnread(state))
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${strings.appName}` : strings.appName
  }, [unread])

  if (resuming) {
    return (
      <main className="auth">
        <p className="muted" role="status">
          {strings.connection.connecting}
        </p>
      </main>
    )
  }
  if (!me) return <SignIn />
  return <Messenger />
}

function Messenger() {
  const route = useRoute()
  const chatId = route.name === 'chat' ? route.chatId : null
  const messageId = route.name === 'chat' ? route.messageId : undefined
  useSearchShortcut()
  return (
    <div className="app">
      <ConnectionBanner />
      <div className={chatId === null ? 'layout' : 'layout has-chat'}>
        <ChatList activeChatId={chatId} />
        <main className="main-pane">
          {chatId === null ? (
            <div className="empty-pane">
              <p className="muted">{strings.chats.selectChat}</p>
            </div>
          ) : (
            <>
              <Conversation key={chatId} chatId={chatId} messageId={messageId} />
              <ChatTools key={`tools-${chatId}`} chatId={chatId} />
            </>
          )}
        </main>
      </div>
    </div>
  )
}

/** Ctrl+K (⌘K on a Mac) focuses the chat search, from anywhere; on a phone it goes to the list first. */
function useSearchShortcut() {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() !== 'k' || !(event.ctrlKey || event.metaKey) || event.altKey) return
      if (document.querySelector('dialog[open]')) return
      event.preventDefault()
      const focus = () => {
        const input = document.getElementById(CHAT_SEARCH_ID)
        if (input instanceof HTMLInputElement && input.offsetParent !== null) {
          input.focus()
          input.select()
          return true
        }
        return false
      }
      if (!focus()) {
        navigate({ name: 'chats' })
        requestAnimationFrame(() => focus())
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])
}
