import type { Chat, Message } from '@parley/protocol'
import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react'
import { navigate } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { Avatar, chatAvatarUrl, chatTitle } from '../chats/ChatList.tsx'
import { PresenceLine } from '../groups/PresenceLine.tsx'
import { Composer, type ComposerMode } from './Composer.tsx'
import { ForwardDialog } from './ForwardDialog.tsx'
import { MessageList } from './MessageList.tsx'
import './conversation.css'

/**
 * One chat: header, virtualised history, composer. `messageId` (a deep link) opens the chat at that
 * message, highlighted. The composer's reply / edit mode lives here: the message list starts it, the
 * composer ends it.
 */
export function Conversation({ chatId, messageId }: { chatId: number; messageId?: number }) {
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
  return <OpenConversation chat={chat} messageId={messageId} />
}

function OpenConversation({ chat, messageId }: { chat: Chat; messageId?: number }) {
  const [mode, setMode] = useState<ComposerMode | null>(null)
  const [forwarding, setForwarding] = useState<Message | null>(null)
  const [notice, setNotice] = useState('')
  const composerInput = useRef<HTMLTextAreaElement>(null)
  const title = chatTitle(chat)

  const onReply = useCallback((message: Message) => setMode({ kind: 'reply', message }), [])
  const onEdit = useCallback((message: Message) => setMode({ kind: 'edit', message }), [])
  const onForward = useCallback((message: Message) => setForwarding(message), [])

  // Esc anywhere in the conversation (outside a menu, which handles its own) leaves reply / edit mode.
  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.key === 'Escape' && mode && !event.defaultPrevented) {
      event.preventDefault()
      setMode(null)
    }
  }

  return (
    <section className="conversation" aria-labelledby={`chat-title-${chat.id}`} onKeyDown={onKeyDown}>
      <header className="bar">
        <BackButton />
        <Avatar name={title} url={chatAvatarUrl(chat)} />
        <div className="bar-heading">
          <h2 id={`chat-title-${chat.id}`} className="bar-title">
            {title}
          </h2>
          <TypingLine chat={chat} />
        </div>
      </header>
      <MessageList
        chat={chat}
        focusMessageId={messageId}
        onReply={onReply}
        onEdit={onEdit}
        onForward={onForward}
        onNotice={setNotice}
        onJumpedToLatest={() => composerInput.current?.focus()}
      />
      <p className="visually-hidden" role="status">
        {notice}
      </p>
      <Composer chatId={chat.id} mode={mode} onMode={setMode} onNotice={setNotice} inputRef={composerInput} />
      {forwarding && (
        <ForwardDialog
          message={forwarding}
          onClose={() => setForwarding(null)}
          onForwarded={(count) => setNotice(strings.messageActions.forwardDone(count))}
        />
      )}
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
  // The sub-line: who is typing (announced), else presence ("online", "last seen …", members).
  return (
    <div className="bar-sub">
      <p className="muted typing-line" role="status">
        {text}
      </p>
      {!someone && <PresenceLine chat={chat} />}
    </div>
  )
}
