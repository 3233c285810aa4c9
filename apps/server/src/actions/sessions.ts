import crypto from 'node:crypto'
import { cleanText, NAME_PATTERN, type Tokens } from '@parley/protocol'
import { newRefreshToken, sha256, signAccessToken } from '../auth/tokens.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { iso } from '../presenters/time.ts'
import type { Executor } from '../store/db.ts'
import type { SessionRow } from '../store/schema.ts'
import { SessionRepository } from '../store/session.repository.ts'
import type { User } from '../store/user.repository.ts'

export interface DeviceInfo {
  deviceName?: string | undefined
  ip: string | null
  userAgent: string | null
}

/** A session about to be written, with its first refresh token (only its hash is stored). */
export interface NewSession {
  row: Omit<SessionRow, 'revoked_at'>
  refreshToken: string
}

/** Builds the session a sign-in of `userId` from `device` opens; nothing is written yet. */
export function newSession(
  deps: Pick<Deps, 'config'>,
  userId: number,
  device: DeviceInfo,
  now: number,
): NewSession {
  return {
    row: {
      id: crypto.randomUUID(),
      user_id: userId,
      device_name:
        (device.deviceName === undefined ? '' : cleanText(device.deviceName)) ||
        deviceNameFrom(device.userAgent),
      ip: device.ip,
      user_agent: device.userAgent?.slice(0, 300) ?? null,
      created_at: now,
      last_active_at: now,
      expires_at: now + deps.config.refreshTokenTtlSeconds * 1000,
    },
    refreshToken: newRefreshToken(),
  }
}

/** Writes sessions and their first refresh tokens in the caller's transaction, a batch per table. */
export async function saveSessions(
  trx: Executor,
  sessions: readonly NewSession[],
  now: number,
): Promise<void> {
  const repo = new SessionRepository(trx)
  await repo.createMany(sessions.map((session) => session.row))
  await repo.addRefreshTokens(
    sessions.map((session) => ({ sessionId: session.row.id, tokenHash: sha256(session.refreshToken) })),
    now,
  )
}

/**
 * The tokens a client gets for a saved session. `accessTokenTtlSeconds` overrides
 * PARLEY_ACCESS_TOKEN_TTL for this access token only (the admin seeding path); refreshes use the default.
 */
export async function sessionTokens(
  deps: Pick<Deps, 'secret' | 'clock' | 'config'>,
  session: NewSession,
  user: Pick<User, 'phone_number'>,
  options: { accessTokenTtlSeconds?: number | undefined } = {},
): Promise<Tokens> {
  const access = await signAccessToken(
    deps,
    { userId: session.row.user_id, sessionId: session.row.id, phoneNumber: user.phone_number },
    { ttlSeconds: options.accessTokenTtlSeconds },
  )
  return {
    access_token: access.token,
    refresh_token: session.refreshToken,
    expires_at: iso(access.expiresAt),
    session_id: session.row.id,
  }
}

/** A session is a device: it is created at sign-in and lives while its refresh tokens keep rotating. */
export async function startSession(deps: Deps, user: User, device: DeviceInfo): Promise<Tokens> {
  const now = deps.clock.now()
  const session = newSession(deps, user.id, device, now)
  await deps.store.db.transaction().execute((trx) => saveSessions(trx, [session], now))
  return sessionTokens(deps, session, user)
}

/**
 * Rotates a refresh token. A token that was already used means it leaked (or a client replayed it):
 * the whole session is revoked, so both the thief and the owner must sign in again.
 */
export async function refreshSession(deps: Deps, refreshToken: string) {
  const now = deps.clock.now()
  const sessions = new SessionRepository(deps.store.db)
  const hash = sha256(refreshToken)
  const stored = await sessions.findRefreshToken(hash)
  if (!stored) throw errors.unauthorized('Invalid refresh token')
  const session = await sessions.findLive(stored.session_id, now)
  if (!session) throw errors.sessionRevoked()
  const next = newRefreshToken()
  const rotated = await deps.store.db.transaction().execute(async (trx) => {
    const repo = new SessionRepository(trx)
    if (stored.used_at !== null || !(await repo.useRefreshToken(hash, now))) return false
    await repo.addRefreshToken(session.id, sha256(next), now)
    await repo.extend(session.id, now, now + deps.config.refreshTokenTtlSeconds * 1000)
    return true
  })
  if (!rotated) {
    await sessions.revokeById(session.id, now)
    announceRevoked(deps, session.id)
    deps.log.warn(
      { session_id: session.id, user_id: session.user_id },
      'refresh token reuse: session revoked',
    )
    throw errors.sessionRevoked()
  }
  const user = await deps.store.db
    .selectFrom('users')
    .select('phone_number')
    .where('id', '=', session.user_id)
    .executeTakeFirst()
  const access = await signAccessToken(deps, {
    userId: session.user_id,
    sessionId: session.id,
    phoneNumber: user?.phone_number ?? null,
  })
  return { access_token: access.token, refresh_token: next, expires_at: iso(access.expiresAt) }
}

export async function listSessions(deps: Deps, auth: { userId: number; sessionId: string }) {
  const rows = await new SessionRepository(deps.store.db).listLive(auth.userId, deps.clock.now())
  return rows.map((row) => ({
    id: row.id,
    device_name: row.device_name,
    ip: row.ip,
    user_agent: row.user_agent,
    created_at: iso(row.created_at),
    last_active_at: iso(row.last_active_at),
    current: row.id === auth.sessionId,
  }))
}

/** Revokes one of the caller's own sessions; another user's session id is `not_found`. */
export async function revokeSession(deps: Deps, auth: { userId: number }, sessionId: string): Promise<void> {
  const revoked = await new SessionRepository(deps.store.db).revoke(sessionId, auth.userId, deps.clock.now())
  if (!revoked) throw errors.notFound('Session')
  announceRevoked(deps, sessionId)
}

export const sessionTopic = (sessionId: string) => `session:${sessionId}`

/** Sockets of a revoked session close at once on every node (the gateway listens on this topic). */
function announceRevoked(deps: Pick<Deps, 'bus' | 'log'>, sessionId: string): void {
  deps.bus.publish(sessionTopic(sessionId), 'revoked').catch((error: unknown) => {
    deps.log.warn({ err: error, session_id: sessionId }, 'could not announce a revoked session')
  })
}

function deviceNameFrom(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device'
  const browser = /(Firefox|Edg|Chrome|Safari|curl|node)[/ ]?/i.exec(userAgent)?.[1]
  const os = /(Windows|Mac OS X|Android|iPhone|iPad|Linux)/i.exec(userAgent)?.[1]
  const name = [browser, os && `on ${os}`].filter(Boolean).join(' ')
  const shown = cleanText(name || userAgent).slice(0, 100)
  // A user agent is any header text: no control or bidi characters reach a device list.
  return NAME.test(shown) ? shown : 'Unknown device'
}
const NAME = new RegExp(NAME_PATTERN, 'u')
