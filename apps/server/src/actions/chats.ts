import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { chatSnapshot } from '../presenters/chat.presenter.ts'
import { ChatRepository, privatePair } from '../store/chat.repository.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import { type Executor, isUniqueViolation } from '../store/db.ts'
import type { ChatRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'
import { commit } from './commit.ts'

type ChatDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

/**
 * Creates or returns the one private chat of a pair. The chat appears for the other person with its
 * first message, as in WhatsApp, so `chat:created` goes to the creator's devices only. A user who
 * blocked the caller is treated like anyone else here; their block takes effect on delivery.
 */
export async function openPrivateChat(
  deps: ChatDeps,
  input: { actorId: number; otherUserId: number },
): Promise<{ chat: ChatRow; created: boolean }> {
  const { actorId, otherUserId } = input
  if (actorId === otherUserId) throw errors.validation('You cannot open a chat with yourself')
  const other = await new UserRepository(deps.store.db).findById(otherUserId)
  if (!other) throw errors.notFound('User')
  const existing = await new ChatRepository(deps.store.db).findPrivate(actorId, otherUserId)
  if (existing) return { chat: existing, created: false }
  try {
    const chat = await commit(deps, async (trx, log) => {
      const chats = new ChatRepository(trx)
      const chat = await chats.create({
        type: 'private',
        name: null,
        description: null,
        avatar_url: null,
        avatar_attachment_id: null,
        created_by: actorId,
        private_pair: privatePair(actorId, otherUserId),
        last_activity_at: log.now,
        created_at: log.now,
        updated_at: log.now,
      })
      const members = [
        { userId: actorId, role: 'member' as const },
        { userId: otherUserId, role: 'member' as const },
      ]
      await chats.addMembers(chat.id, members, log.now)
      const snapshot = chatSnapshot(
        chat,
        members.map((m) => ({ user_id: m.userId, role: m.role })),
      )
      await log.append('chat:created', { chat: snapshot }, [actorId])
      return chat
    })
    return { chat, created: true }
  } catch (error) {
    // Both opened it at once: the unique pair index kept one; answer with that one.
    if (!isUniqueViolation(error)) throw error
    const chat = await new ChatRepository(deps.store.db).findPrivate(actorId, otherUserId)
    if (!chat) throw error
    return { chat, created: false }
  }
}

/** Users whose block stops `senderId`'s messages in this chat (private chats only, WhatsApp-style). */
export async function blockedRecipients(
  db: Executor,
  chat: Pick<ChatRow, 'type'>,
  senderId: number,
  recipientIds: readonly number[],
): Promise<Set<number>> {
  if (chat.type !== 'private') return new Set()
  const blocked = new Set<number>()
  for (const recipientId of recipientIds) {
    if (recipientId === senderId) continue
    if (await new ContactRepository(db).hasBlocked(recipientId, senderId)) blocked.add(recipientId)
  }
  return blocked
}
