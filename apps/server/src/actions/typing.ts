import { relationsFor } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { ApiError } from '../errors.ts'
import { enforceLimit, userLimitKey } from '../limits/enforce.ts'
import { ChatRepository } from '../store/chat.repository.ts'

/**
 * Typing rule (DESIGN §3.7): the other current members of the chat who may see `userId` type — online
 * only, never across a block in either direction. Null when `userId` is not a current member (the
 * frame is ignored). realtime/ephemeral.ts throttles, times out and sends.
 *
 * Each look-up costs queries, so it spends one request of the user's budget (the one their REST and
 * socket requests share): typing into chat after chat cannot become a query flood. Over the budget the
 * frame is ignored like a non-member's.
 */
export async function typingAudience(
  deps: Pick<Deps, 'store' | 'presence' | 'counters' | 'log' | 'config'>,
  userId: number,
  chatId: number,
): Promise<number[] | null> {
  try {
    await enforceLimit(deps, userLimitKey(userId), deps.config.rateLimitPerUser)
  } catch (error) {
    if (error instanceof ApiError && error.code === 'rate_limited') return null
    throw error
  }
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
