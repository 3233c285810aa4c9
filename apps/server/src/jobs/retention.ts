import type { Deps } from '../deps.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'

const DAY_MS = 24 * 60 * 60 * 1000
// Users per transaction: short transactions, so sends are never held up for long.
const USERS_PER_BATCH = 200

export interface PurgeOutcome {
  /** Users whose log lost its old part. */
  users: number
  updates: number
  changes: number
}

/**
 * Update-log retention (DESIGN §3.5): removes every update older than `config.updateRetentionDays`
 * (by `created_at`, on the deps clock). For each user the newest removed seq becomes `purged_through`,
 * and everything up to it goes, so what is left is always an unbroken run of seqs and a sync cursor
 * below it answers `resync_required` instead of a silent gap. Then removes change payloads no log
 * refers to any more. Idempotent; the scheduler runs it on one node at a time, tests call it directly.
 */
export async function purgeExpiredUpdates(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'log'>,
): Promise<PurgeOutcome> {
  const cutoff = deps.clock.now() - deps.config.updateRetentionDays * DAY_MS
  const targets = await new UpdateLogRepository(deps.store.db).expiredThrough(cutoff)
  let updates = 0
  for (let start = 0; start < targets.length; start += USERS_PER_BATCH) {
    const batch = targets.slice(start, start + USERS_PER_BATCH)
    // Through the writer: on SQLite this shares the one write transaction with sends.
    updates += await deps.store.writer.write((trx) => new UpdateLogRepository(trx).purgeThrough(batch))
  }
  const changes = await deps.store.writer.write((trx) =>
    new UpdateLogRepository(trx).deleteUnreferencedChanges(cutoff),
  )
  const outcome = { users: targets.length, updates, changes }
  if (updates > 0 || changes > 0) deps.log.info(outcome, 'update log retention')
  return outcome
}
