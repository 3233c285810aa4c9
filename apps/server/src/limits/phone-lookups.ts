import type { Deps } from '../deps.ts'
import { enforceLimit } from './enforce.ts'

const DAY = 24 * 3_600_000

/**
 * Spends one of the caller's daily phone-number look-ups (PARLEY_PHONE_LOOKUPS_PER_DAY, a rolling 24
 * hours), found or not, before the number is looked up: whether a number has an account is exactly what
 * an enumerator wants, so it gets a budget far below the general request limit. Fails closed.
 */
export async function spendPhoneLookup(
  deps: Pick<Deps, 'counters' | 'log' | 'config'>,
  userId: number,
): Promise<void> {
  await enforceLimit(deps, `phone-lookup:${userId}`, deps.config.phoneLookupsPerDay, DAY, {
    message: 'Too many phone number look-ups today; try again later',
    failClosed: true,
  })
}
