import crypto from 'node:crypto'
import type { AccessClaims } from '@parley/protocol'
import { errors as jose, jwtVerify, SignJWT } from 'jose'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'

const ALGORITHM = 'HS256'

/** `ttlSeconds` defaults to PARLEY_ACCESS_TOKEN_TTL; only the admin seeding path asks for another. */
export async function signAccessToken(
  deps: Pick<Deps, 'secret' | 'clock' | 'config'>,
  claims: { userId: number; sessionId: string; phoneNumber: string | null },
  options: { ttlSeconds?: number | undefined } = {},
): Promise<{ token: string; expiresAt: number }> {
  const issuedAt = Math.floor(deps.clock.now() / 1000)
  const expiresAt = issuedAt + (options.ttlSeconds ?? deps.config.accessTokenTtlSeconds)
  const token = await new SignJWT({
    user_id: claims.userId,
    sid: claims.sessionId,
    phone_number: claims.phoneNumber,
    type: 'access',
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(String(claims.userId))
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(deps.secret)
  return { token, expiresAt: expiresAt * 1000 }
}

/** Leeway for `iat` a little ahead of this node's clock (another node's clock may run ahead). */
const CLOCK_SKEW_SECONDS = 60

/**
 * Verifies signature (HS256 only: `alg: none` and every other algorithm are refused), the `typ: JWT`
 * header, that `exp`, `iat` and `sub` are present (a token that never expires is refused even with the
 * right signature), expiry against the deps clock, an `iat` not in the future, and the token type
 * (`type: "access"`). Does not look at the session; `authenticate` does. The `/ws` hello uses it too.
 */
export async function verifyAccessToken(
  deps: Pick<Deps, 'secret' | 'clock'>,
  token: string,
): Promise<AccessClaims> {
  try {
    const currentDate = new Date(deps.clock.now())
    const { payload } = await jwtVerify(token, deps.secret, {
      algorithms: [ALGORITHM],
      typ: 'JWT',
      requiredClaims: ['exp', 'iat', 'sub'],
      currentDate,
    })
    if (
      payload.type !== 'access' ||
      typeof payload.user_id !== 'number' ||
      typeof payload.sid !== 'string' ||
      payload.sub !== String(payload.user_id)
    ) {
      throw errors.unauthorized('Not an access token')
    }
    // Issued "in the future": this node's clock stepped back (or the issuer's runs ahead). The token is
    // genuine, so the client is told to refresh (token_expired), not signed out (unauthorized).
    if ((payload.iat ?? 0) > currentDate.getTime() / 1000 + CLOCK_SKEW_SECONDS) throw errors.tokenExpired()
    return payload as unknown as AccessClaims
  } catch (error) {
    if (error instanceof jose.JWTExpired) throw errors.tokenExpired()
    if (error instanceof Error && error.name === 'ApiError') throw error
    throw errors.unauthorized('Invalid access token')
  }
}

/** Opaque refresh tokens: 256 random bits; only their SHA-256 is stored. */
export function newRefreshToken(): string {
  return crypto.randomBytes(32).toString('base64url')
}

export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex')
}

/** Keyed hash for short secrets (OTP codes) so a database dump does not give them away by brute force. */
export function hmac(secret: Uint8Array, value: string): string {
  return crypto.createHmac('sha256', secret).update(value).digest('hex')
}
