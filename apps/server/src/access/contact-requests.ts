import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import type { Relation } from '../presenters/user.presenter.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import type { Executor } from '../store/db.ts'
import type { ContactRequestRow } from '../store/schema.ts'
import { type User, UserRepository } from '../store/user.repository.ts'
import { relationsFor } from './relations.ts'

export type RequestRole = 'recipient' | 'sender'

/**
 * A pending contact request the caller may act on as `roles` allow; anything else (missing, answered,
 * someone else's, or from a user the caller blocks, which the caller never sees) is `not_found`.
 */
export async function pendingContactRequest(
  deps: Pick<Deps, 'store'>,
  viewerId: number,
  id: number,
  roles: readonly RequestRole[],
): Promise<{ request: ContactRequestRow; role: RequestRole }> {
  const contacts = new ContactRepository(deps.store.db)
  const request = await contacts.findRequest(id)
  if (request && request.status === 'pending') {
    if (roles.includes('sender') && request.from_user_id === viewerId) return { request, role: 'sender' }
    if (roles.includes('recipient') && request.to_user_id === viewerId) {
      const edges = await contacts.relationEdges(viewerId, [request.from_user_id])
      if (!edges.some((edge) => edge.kind === 'viewer_blocked')) return { request, role: 'recipient' }
    }
  }
  throw errors.notFound('Contact request')
}

/** The people on either side of `requests` and how the viewer stands to them: two queries in all. */
export async function requestParties(
  db: Executor,
  viewerId: number,
  requests: readonly ContactRequestRow[],
): Promise<{ users: Map<number, User>; relations: Map<number, Relation> }> {
  const ids = [...new Set(requests.flatMap((request) => [request.from_user_id, request.to_user_id]))]
  const others = ids.filter((id) => id !== viewerId)
  const [users, relations] = await Promise.all([
    new UserRepository(db).findByIds(ids),
    relationsFor(db, viewerId, others),
  ])
  return { users: new Map(users.map((user) => [user.id, user])), relations }
}
