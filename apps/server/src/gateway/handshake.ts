import { type AccessClaims, CLOSE_CODES, type CloseReason } from '@parley/protocol'
import { type Auth, authenticateSession } from '../auth/session-auth.ts'
import type { Deps } from '../deps.ts'
import { ApiError } from '../errors.ts'

export type Handshake = { ok: true; auth: Auth; claims: AccessClaims } | { ok: false; close: CloseReason }

/**
 * The `hello`: the same token-and-session check as the HTTP `authenticate` hook
 * (auth/session-auth.ts), mapped to close codes. A failure of the database or bus is not the token's
 * fault: the client reconnects (4000) rather than signs in again.
 */
export async function handshake(deps: Deps, token: string, ip: string): Promise<Handshake> {
  try {
    const { auth, claims } = await authenticateSession(deps, token, ip)
    return { ok: true, auth, claims }
  } catch (error) {
    if (!(error instanceof ApiError)) {
      deps.log.error({ err: error }, 'gateway hello failed')
      return { ok: false, close: CLOSE_CODES.serverRestart }
    }
    const close =
      error.code === 'token_expired'
        ? CLOSE_CODES.tokenExpired
        : error.code === 'session_revoked'
          ? CLOSE_CODES.sessionRevoked
          : CLOSE_CODES.unauthorized
    return { ok: false, close }
  }
}
