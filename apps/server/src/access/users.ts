import { normalisePhone } from '../auth/phone.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { spendPhoneLookup } from '../limits/phone-lookups.ts'
import type { Relation } from '../presenters/user.presenter.ts'
import { type User, UserRepository } from '../store/user.repository.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { relationsFor } from './relations.ts'

/**
 * Loaders for other users. Any signed-in user may address any existing user; a missing or deleted
 * account is `not_found`. What of the user is shown is the presenters' business (privacy, blocks).
 */
export async function userById(deps: Pick<Deps, 'store'>, id: number): Promise<User> {
  const user = await new UserRepository(deps.store.db).findById(id)
  if (!user) throw errors.notFound('User')
  return user
}

/**
 * `phoneNumber` in E.164 (normalised by the caller). Spends one of `viewerId`'s daily phone look-ups
 * first, found or not.
 */
export async function userByPhone(
  deps: Pick<Deps, 'store' | 'counters' | 'log' | 'config'>,
  viewerId: number,
  phoneNumber: string,
): Promise<User> {
  await spendPhoneLookup(deps, viewerId)
  const user = await new UserRepository(deps.store.db).findByPhone(phoneNumber)
  if (!user) throw errors.notFound('User')
  return user
}

export async function userByUsername(deps: Pick<Deps, 'store'>, username: string): Promise<User> {
  const user = await new UserRepository(deps.store.db).findByUsername(username)
  if (!user) throw errors.notFound('User')
  return user
}

/**
 * One page of a people search for `viewerId` (see UserRepository.search), with how the viewer stands
 * to each user found: two queries whatever the page size. `nextCursor` is null on the last page. A `q`
 * that reads as a phone number is an exact-number look-up and spends one of the daily budget.
 */
export async function searchUsers(
  deps: Pick<Deps, 'store' | 'counters' | 'log' | 'config'>,
  viewerId: number,
  query: { q: string; limit?: number | undefined; cursor?: string | undefined },
): Promise<{ users: User[]; relations: Map<number, Relation>; nextCursor: string | null }> {
  const q = query.q.trim()
  if (q.length === 0) {
    throw errors.validation('q must not be blank', [{ field: 'q', message: 'must not be blank' }])
  }
  const limit = query.limit ?? 20
  const phoneNumber = phoneOrNull(q)
  if (phoneNumber !== null) await spendPhoneLookup(deps, viewerId)
  const rows = await new UserRepository(deps.store.db).search({
    viewerId,
    prefix: q,
    phoneNumber,
    afterId:
      query.cursor === undefined
        ? null
        : decodeCursor(query.cursor, ([id]) =>
            Number.isSafeInteger(id) && (id as number) > 0 ? (id as number) : null,
          ),
    limit: limit + 1,
  })
  const users = rows.slice(0, limit)
  const last = users.at(-1)
  const relations = await relationsFor(
    deps.store.db,
    viewerId,
    users.map((user) => user.id),
  )
  return { users, relations, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null }
}

const PHONE_LIKE = /^\+?[0-9][0-9\s().-]{5,}$/

/** The query as an E.164 number when it reads as an international number ("+" optional), else null. */
function phoneOrNull(q: string): string | null {
  if (!PHONE_LIKE.test(q)) return null
  try {
    return normalisePhone(q.startsWith('+') ? q : `+${q}`)
  } catch {
    return null
  }
}
