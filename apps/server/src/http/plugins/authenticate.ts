import crypto from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { authenticateToken } from '../../auth/session-auth.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { enforceLimit, userLimitKey } from '../../limits/enforce.ts'
import type { Auth } from '../types.ts'

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (!header) return null
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match?.[1] ?? null
}

/** The one token check, shared with the socket's hello (auth/session-auth.ts); re-exported here. */
export { authenticateToken }

/** Fastify hook for routes that need a signed-in user; also applies the per-user rate limit. */
export function authenticate(deps: Deps) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request)
    if (!token) throw errors.unauthorized()
    request.auth = await authenticateToken(deps, token, request.ip)
    await enforceLimit(deps, userLimitKey(request.auth.userId), deps.config.rateLimitPerUser)
  }
}

/** The caller of a route registered with `authenticate`. */
export function caller(request: FastifyRequest): Auth {
  if (!request.auth) throw errors.unauthorized()
  return request.auth
}

/**
 * Fastify hook for the admin API (`/api/admin/*`). With no PARLEY_ADMIN_TOKEN it answers exactly as an
 * unknown route does; otherwise the bearer must equal the token (compared in constant time). There is
 * no user, so no per-user limit; the per-IP limit still applies. Runs before the body is validated.
 */
export function authenticateAdmin(deps: Pick<Deps, 'config'>) {
  const expected = deps.config.adminToken === null ? null : digest(deps.config.adminToken)
  return async (request: FastifyRequest) => {
    if (expected === null) {
      throw errors.notFound(`Route ${request.method} ${request.url.split('?')[0]}`)
    }
    const token = bearerToken(request)
    // Equal-length digests: timingSafeEqual needs equal lengths, and the token's length stays secret.
    if (!token || !crypto.timingSafeEqual(digest(token), expected)) {
      throw errors.unauthorized('A valid admin token is required')
    }
  }
}

const digest = (value: string) => crypto.createHash('sha256').update(value).digest()
