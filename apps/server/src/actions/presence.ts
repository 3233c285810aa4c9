import { relationsFor } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { visibleTo } from '../presenters/user.presenter.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import { UserRepository } from '../store/user.repository.ts'

/**
 * Presence rules (DESIGN §3.7). realtime/ephemeral.ts counts sockets and sends the events; who may
 * see them is decided here.
 *
 * The online users who may see `userId`'s last seen: their contacts (either way) and private-chat
 * partners, filtered by `privacy_last_seen` as the watcher stands to the user, and never across a
 * block in either direction.
 */
export async function presenceAudience(
  deps: Pick<Deps, 'store' | 'presence'>,
  userId: number,
): Promise<number[]> {
  const db = deps.store.db
  const [user, contacts, partners] = await Promise.all([
    new UserRepository(db).findById(userId),
    new ContactRepository(db).contactsEitherWay(userId),
    new ChatRepository(db).privatePartnersOf(userId),
  ])
  if (!user) return []
  const candidates = [...new Set([...contacts, ...partners])].filter((id) => id !== userId)
  if (candidates.length === 0) return []
  const [relations, online] = await Promise.all([
    relationsFor(db, userId, candidates),
    deps.presence.onlineOf(candidates),
  ])
  return candidates.filter((watcherId) => {
    const fromUser = relations.get(watcherId)
    if (!fromUser || !online.has(watcherId)) return false
    if (fromUser.viewerBlockedTarget || fromUser.targetBlockedViewer) return false
    // relationsFor answers from the user's side; privacy is judged from the watcher's.
    return visibleTo(user.privacy_last_seen, {
      viewerHasTarget: fromUser.targetHasViewer,
      targetHasViewer: fromUser.viewerHasTarget,
      viewerBlockedTarget: fromUser.targetBlockedViewer,
      targetBlockedViewer: fromUser.viewerBlockedTarget,
    })
  })
}

/**
 * The user's last socket anywhere closed at `now`: their last seen is stored. Through the writer, so
 * on SQLite the closes of a reconnect storm share commits with each other and with sends: one
 * transaction (and fsync) per close was the largest per-close cost (bench/README.md, storm).
 */
export async function recordLastSeen(deps: Pick<Deps, 'store'>, userId: number, now: number): Promise<void> {
  await deps.store.writer.write((trx) => new UserRepository(trx).update(userId, { last_seen_at: now }))
}
