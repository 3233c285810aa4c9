import type { Chat } from '@parley/protocol'
import { presentChat } from '../presenters/chat.presenter.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { Executor } from '../store/db.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'
import { groupBy, messageViews } from './message-views.ts'
import { relationsFor } from './relations.ts'

/**
 * Chats as `viewerId` (a current member of each) sees them — the other participant of a private chat
 * with their privacy applied, the last message, unread count, own settings — in a constant number of
 * queries whatever the number of chats.
 */
export async function chatViews(
  db: Executor,
  viewerId: number,
  chats: readonly ChatRow[],
  options: {
    /** PARLEY_PUBLIC_URL, the prefix of media URLs in last messages. */
    baseUrl: string | null
    /** Which of the given users are online (deps.presence.onlineOf); one call per view. */
    onlineOf?: (userIds: readonly number[]) => Promise<Set<number>>
  },
): Promise<Chat[]> {
  const onlineOf = options.onlineOf ?? (async () => new Set<number>())
  if (chats.length === 0) return []
  const chatIds = chats.map((chat) => chat.id)
  const messages = new MessageRepository(db)
  const [members, lastMessages, unread] = await Promise.all([
    new ChatRepository(db).activeMembersOf(chatIds),
    messages.lastVisibleOf(chatIds, viewerId),
    messages.unreadCounts(chatIds, viewerId),
  ])
  const membersByChat = groupBy(members, (member) => member.chat_id)
  const otherIdOf = new Map<number, number>()
  for (const chat of chats) {
    if (chat.type !== 'private') continue
    const other = membersByChat.get(chat.id)?.find((member) => member.user_id !== viewerId)
    if (other) otherIdOf.set(chat.id, other.user_id)
  }
  const otherIds = [...new Set(otherIdOf.values())]
  const [others, relations, lastViews, online] = await Promise.all([
    new UserRepository(db).findByIds(otherIds),
    relationsFor(db, viewerId, otherIds),
    messageViews(db, viewerId, chats, lastMessages, members, { baseUrl: options.baseUrl }),
    otherIds.length === 0 ? new Set<number>() : onlineOf(otherIds),
  ])
  const userById = new Map(others.map((user) => [user.id, user]))
  const lastByChat = new Map(lastViews.map((message) => [message.chat_id, message]))
  return chats.map((chat) => {
    const chatMembers = membersByChat.get(chat.id) ?? []
    const own = chatMembers.find((member) => member.user_id === viewerId) as ChatMemberRow
    const otherId = otherIdOf.get(chat.id)
    const other = otherId === undefined ? undefined : userById.get(otherId)
    return presentChat({
      chat,
      member: own,
      participantsCount: chatMembers.length,
      other:
        other && otherId !== undefined
          ? { user: other, relation: relations.get(otherId), isOnline: online.has(otherId) }
          : null,
      lastMessage: lastByChat.get(chat.id) ?? null,
      unreadCount: unread.get(chat.id) ?? 0,
    })
  })
}
