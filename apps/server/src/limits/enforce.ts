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
