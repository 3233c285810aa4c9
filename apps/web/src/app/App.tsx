import { useEffect, useState } from 'react'
import { useClient, useStore } from '../client/react.tsx'
import { SignIn } from '../features/auth/SignIn.tsx'
import { ChatList } from '../features/chats/ChatList.tsx'
import { Conversation } from '../features/conversation/Conversation.tsx'
import { strings } from '../strings.ts'
import { useRoute } from './router.ts'

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

  const unread = useStore((state) =>
    Object.values(state.chats).reduce((sum, chat) => sum + (chat.archived ? 0 : chat.unread_count), 0),
  )
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
  return (
    <div className={chatId === null ? 'layout' : 'layout has-chat'}>
      <ChatList activeChatId={chatId} />
      <main className="main-pane">
        {chatId === null ? (
          <div className="empty-pane">
            <p className="muted">{strings.chats.selectChat}</p>
          </div>
        ) : (
          <Conversation key={chatId} chatId={chatId} messageId={messageId} />
        )}
      </main>
    </div>
  )
}
