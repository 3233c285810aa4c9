import { relationsFor } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { ChatRepository } from '../store/chat.repository.ts'

/**
 * Typing rule (DESIGN §3.7): the other current members of the chat who may see `userId` type — online
 * only, never across a block in either direction. Null when `userId` is not a current member (the
 * frame is ignored). realtime/ephemeral.ts throttles, times out and sends.
 */
export async function typingAudience(
  deps: Pick<Deps, 'store' | 'presence'>,
  userId: number,
  chatId: number,
): Promise<number[] | null> {
  const chats = new ChatRepository(deps.store.db)
  if (!(await chats.findActiveMember(chatId, userId))) return null
  const others = (await chats.activeMembers(chatId)).map((m) => m.user_id).filter((id) => id !== userId)
  if (others.length === 0) return []
  const [relations, online] = await Promise.all([
    relationsFor(deps.store.db, userId, others),
    deps.presence.onlineOf(others),
  ])
  return others.filter((id) => {
    const relation = relations.get(id)
    return online.has(id) && !relation?.targetBlockedViewer && !relation?.viewerBlockedTarget
  })
}
