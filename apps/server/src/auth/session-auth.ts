import type { AccessClaims } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { SessionRepository } from '../store/session.repository.ts'
import { verifyAccessToken } from './tokens.ts'

/** Who is calling: resolved from an access token by `authenticateSession` (HTTP hook and socket hello). */
export interface Auth {
  userId: number
  sessionId: string
}

// last_active_at is a hint for the sessions list; writing it on every request would cost a write per read.
const TOUCH_EVERY_MS = 60_000

/**
 * The one token check of both transports (the HTTP `authenticate` hook and the socket's `hello`):
 * verifies the access token, then checks that its session is still live, so a revoked device is
 * refused at once rather than when its token expires. Answers the caller and the token's claims.
 */
export async function authenticateSession(
  deps: Deps,
  token: string,
  ip: string | null,
): Promise<{ auth: Auth; claims: AccessClaims }> {
  const claims = await verifyAccessToken(deps, token)
  const sessions = new SessionRepository(deps.store.db)
  const session = await sessions.findLive(claims.sid, deps.clock.now())
  if (!session || session.user_id !== claims.user_id) throw errors.sessionRevoked()
  if (deps.clock.now() - session.last_active_at > TOUCH_EVERY_MS) {
    await sessions.touch(session.id, deps.clock.now(), ip)
  }
  return { auth: { userId: session.user_id, sessionId: session.id }, claims }
}

/** `authenticateSession` for callers that need only who is calling. */
export async function authenticateToken(deps: Deps, token: string, ip: string | null): Promise<Auth> {
  return (await authenticateSession(deps, token, ip)).auth
}
