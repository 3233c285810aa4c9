import crypto from 'node:crypto'
import type { SeededUser } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import type { NewUser } from '../store/schema.ts'
import { newUserRow, UserRepository } from '../store/user.repository.ts'
import { type DeviceInfo, newSession, saveSessions, sessionTokens } from './sessions.ts'

/** 10 hex digits: with a 20-character prefix and `_` the username is 31 characters (the limit is 32). */
const SUFFIX_BYTES = 5
/** A clash of 40 random bits is already rare; this many in a row means something else is wrong. */
const MAX_NAME_ROUNDS = 5

export interface SeedUsersInput {
  count: number
  namePrefix: string
  device: DeviceInfo
  accessTokenTtlSeconds?: number | undefined
}

/**
 * Creates `count` users (no password, no phone) with one session each, for load tests. Users and
 * sessions are written in one transaction, a few multi-row INSERTs per table; the sessions are the
 * ones a sign-in opens (same rows, same tokens), so the tokens work for REST, `/ws` and refresh.
 * A new user has no chats or contacts, so there is nobody to send an update to.
 */
export async function seedUsers(deps: Deps, input: SeedUsersInput): Promise<SeededUser[]> {
  const now = deps.clock.now()
  const seeded = await deps.store.db.transaction().execute(async (trx) => {
    const users = new UserRepository(trx)
    const created: Array<{ id: number; username: string; displayName: string }> = []
    let pending = Array.from({ length: input.count }, (_, index) => `${input.namePrefix} ${index + 1}`)
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_NAME_ROUNDS) throw new Error('seedUsers: could not find free usernames')
      const named = withFreshUsernames(input.namePrefix, pending)
      const ids = await users.createManySkippingTakenUsernames(
        named.map(({ username, displayName }) => newSeedUser(username, displayName, now)),
      )
      pending = []
      for (const { username, displayName } of named) {
        const id = ids.get(username)
        if (id === undefined) pending.push(displayName)
        else created.push({ id, username, displayName })
      }
    }
    const withSessions = created.map((user) => ({
      user,
      session: newSession(deps, user.id, input.device, now),
    }))
    await saveSessions(
      trx,
      withSessions.map(({ session }) => session),
      now,
    )
    return withSessions
  })
  return Promise.all(
    seeded.map(async ({ user, session }) => {
      const tokens = await sessionTokens(
        deps,
        session,
        { phone_number: null },
        { accessTokenTtlSeconds: input.accessTokenTtlSeconds },
      )
      return {
        id: user.id,
        username: user.username,
        display_name: user.displayName,
        session_id: tokens.session_id,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: tokens.expires_at,
      }
    }),
  )
}

/** A random `<prefix>_<hex>` per display name, distinct within the batch (the database checks the rest). */
function withFreshUsernames(prefix: string, displayNames: readonly string[]) {
  const taken = new Set<string>()
  return displayNames.map((displayName) => {
    let username: string
    do username = `${prefix}_${crypto.randomBytes(SUFFIX_BYTES).toString('hex')}`
    while (taken.has(username))
    taken.add(username)
    return { username, displayName }
  })
}

function newSeedUser(username: string, displayName: string, now: number): NewUser & { username: string } {
  return {
    ...newUserRow(
      { phone_number: null, username, password_hash: null, name: displayName, phone_verified_at: null },
      now,
    ),
    username,
  }
}
