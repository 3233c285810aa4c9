import type { Chat, Message } from '@parley/protocol'
import { strings } from '../../strings.ts'
import { mediaSummary, summary } from '../chats/ChatList.tsx'

type Quote = NonNullable<Message['reply_to']>

/** Who sent a message, as the reader calls them: "You", the other person, or the sender's name. */
export function senderName(
  senderId: number | null,
  meId: number,
  chat: Chat | undefined,
  message?: Pick<Message, 'sender'>,
): string {
  if (senderId !== null && senderId === meId) return strings.messageActions.you
  if (message?.sender?.name) return message.sender.name
  if (chat?.type === 'private' && chat.participant && chat.participant.id === senderId) {
    return chat.participant.name
  }
  return ''
}

/** One line of a message or of a quoted preview, as text. */
export function snippet(message: Message | Quote): string {
  if (message.deleted) return strings.conversation.deleted
  if ('reactions' in message) return summary(message).replace(/\s+/gu, ' ')
  if (message.message_type === 'text') return (message.content ?? '').replace(/\s+/gu, ' ')
  if (strings.media.kinds[message.message_type]) {
    return mediaSummary(message.message_type, 1, message.content).replace(/\s+/gu, ' ')
  }
  return strings.conversation.unsupported(message.message_type)
}
