import type { ContactRequest, UserSummary } from '@parley/protocol'
import type { ContactRequestRow } from '../store/schema.ts'
import type { User } from '../store/user.repository.ts'
import { iso, isoOrNull } from './time.ts'
import { NO_RELATION, presentUserSummary, type Relation } from './user.presenter.ts'

export interface RequestParties {
  users: ReadonlyMap<number, User>
  relations: ReadonlyMap<number, Relation>
}

function summary(viewerId: number, user: User, parties: RequestParties): UserSummary {
  // The viewer's own summary is not subject to their own privacy settings.
  if (user.id === viewerId) {
    return { id: user.id, username: user.username, name: user.name, avatar_url: user.avatar_url }
  }
  return presentUserSummary(user, parties.relations.get(user.id) ?? NO_RELATION)
}

/** A contact request as `viewerId` (its sender or recipient) sees it; null if a party's account is gone. */
export function presentContactRequest(
  viewerId: number,
  request: ContactRequestRow,
  parties: RequestParties,
): ContactRequest | null {
  const from = parties.users.get(request.from_user_id)
  const to = parties.users.get(request.to_user_id)
  if (!from || !to) return null
  return {
    id: request.id,
    from_user: summary(viewerId, from, parties),
    to_user: summary(viewerId, to, parties),
    message: request.message,
    status: request.status,
    created_at: iso(request.created_at),
    responded_at: isoOrNull(request.responded_at),
  }
}

/** Presents a list, leaving out requests whose other party's account is gone. */
export function presentContactRequests(
  viewerId: number,
  requests: readonly ContactRequestRow[],
  parties: RequestParties,
): ContactRequest[] {
  return requests.flatMap((request) => presentContactRequest(viewerId, request, parties) ?? [])
}
