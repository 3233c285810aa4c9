import net from 'node:net'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'

const MINUTE = 60_000

/**
 * Counts one request against `key` and throws `rate_limited` (with retry_after) past `limit` per
 * sliding window. A refused request is not counted, so a client that waits `retry_after` gets in.
 * The same counters back per-IP, per-user (REST and socket requests share one budget), OTP, phone
 * look-up and login limits, in memory or in Redis.
 */
export async function enforceLimit(
  deps: Pick<Deps, 'counters' | 'log'>,
  key: string,
  limit: number,
  windowMs = MINUTE,
  options: { message?: string; failClosed?: boolean } = {},
): Promise<void> {
  let window: { count: number; resetInMs: number }
  try {
    window = await deps.counters.hit(key, windowMs, limit)
  } catch (error) {
    if (options.failClosed) {
      deps.log.error({ err: error, key }, 'rate-limit counters unavailable; request refused')
      throw errors.serviceUnavailable('Try again shortly')
    }
    // The counters' store (Redis) is down: serve without this limit rather than refuse everyone.
    deps.log.warn({ err: error, key }, 'rate-limit counters unavailable; request allowed')
    return
  }
  if (window.count > limit) {
    throw errors.rateLimited(Math.max(1, Math.ceil(window.resetInMs / 1000)), options.message)
  }
}

/** The key of a signed-in user's request budget, shared by REST requests and socket request frames. */
export const userLimitKey = (userId: number) => `user:${userId}`

/**
 * The part of a client address that per-IP limits count: an IPv4 address whole (also when mapped into
 * IPv6), an IPv6 address by its /64 network. One subscriber line or host gets a whole /64, so counting
 * single IPv6 addresses would give each client 2⁶⁴ fresh budgets for sign-in attempts, OTP texts,
 * requests and pre-hello sockets.
 */
export function ipLimitKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown'
  const mapped = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip
  if (net.isIPv4(mapped)) return mapped
  if (!net.isIPv6(ip)) return ip
  // Expand '::' so the first four groups are the network, whatever the spelling.
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]?.split('::') ?? []
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`
}
