import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'

const MINUTE = 60_000

/**
 * Counts one request against `key` and throws `rate_limited` (with retry_after) past `limit` per window.
 * The same counters back per-IP, per-user, OTP and login limits, in memory or in Redis.
 */
export async function enforceLimit(
  deps: Pick<Deps, 'counters'>,
  key: string,
  limit: number,
  windowMs = MINUTE,
): Promise<void> {
  const { count, resetInMs } = await deps.counters.hit(key, windowMs)
  if (count > limit) throw errors.rateLimited(Math.max(1, Math.ceil(resetInMs / 1000)))
}
