import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow, MessageRow } from '../store/schema.ts'

export interface ChatAccess {
  chat: ChatRow
  member: ChatMemberRow
}

/** A chat the user is a current member of; `not_found` for missing and not-yours alike. */
export async function chatForMember(
  deps: Pick<Deps, 'store'>,
  userId: number,
  chatId: number,
): Promise<ChatAccess> {
  const chats = new ChatRepository(deps.store.db)
  const [chat, member] = await Promise.all([chats.findById(chatId), chats.findActiveMember(chatId, userId)])
  if (!chat || !member) throw errors.notFound('Chat')
  return { chat, member }
}

/** A message in a chat the user is a member of and that they have not hidden; else `not_found`. */
export async function messageForMember(
  deps: Pick<Deps, 'store'>,
  userId: number,
  messageId: number,
): Promise<ChatAccess & { message: MessageRow }> {
  const messages = new MessageRepository(deps.store.db)
  const message = await messages.findById(messageId)
  if (!message) throw errors.notFound('Message')
  const chats = new ChatRepository(deps.store.db)
  const [chat, member, hidden] = await Promise.all([
    chats.findById(message.chat_id),
    chats.findActiveMember(message.chat_id, userId),
    messages.isHiddenFor(messageId, userId),
  ])
  if (!chat || !member || hidden) throw errors.notFound('Message')
  return { chat, member, message }
}
