import crypto from 'node:crypto'
import net from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { bearerToken } from './authenticate.ts'

/** True for an address on this machine: 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  if (net.isIPv4(v4)) return v4.startsWith('127.')
  return address === '::1'
}

export type OpsDecision = 'allow' | 'unauthorized' | 'not_found'

/**
 * Who may read the operational endpoints (`/metrics`, `/health/detailed`): they show traffic, error
 * counts, session counts and the database/bus mode and failure texts.
 * - With PARLEY_METRICS_TOKEN set: whoever presents it as a bearer token, and nobody else (401).
 * - Without: clients on this machine only. Both the TCP peer and the client address (from
 *   X-Forwarded-For when PARLEY_TRUST_PROXY is on) must be loopback, so a forged X-Forwarded-For does
 *   not open it and a reverse proxy on the same host does not either once it forwards the client
 *   address. Others are told 404, as for a route that does not exist.
 */
export function opsDecision(input: {
  /** sha256 of the configured token, or null when none is. */
  expected: Buffer | null
  presented: string | null
  peerAddress: string | undefined
  clientAddress: string | undefined
}): OpsDecision {
  if (input.expected !== null) {
    // Equal-length digests: timingSafeEqual needs equal lengths, and the token's length stays secret.
    return input.presented !== null && crypto.timingSafeEqual(digest(input.presented), input.expected)
      ? 'allow'
      : 'unauthorized'
  }
  return isLoopback(input.peerAddress) && isLoopback(input.clientAddress) ? 'allow' : 'not_found'
}

/** Fastify onRequest hook for the operational routes. */
export function authorizeOps(deps: Pick<Deps, 'config'>) {
  const expected = deps.config.metricsToken === null ? null : digest(deps.config.metricsToken)
  return async (request: FastifyRequest) => {
    const decision = opsDecision({
      expected,
      presented: bearerToken(request),
      peerAddress: request.socket.remoteAddress,
      clientAddress: request.ip,
    })
    if (decision === 'unauthorized') throw errors.unauthorized('A valid metrics token is required')
    if (decision === 'not_found')
      throw errors.notFound(`Route ${request.method} ${request.url.split('?')[0]}`)
  }
}

const digest = (value: string) => crypto.createHash('sha256').update(value).digest()
