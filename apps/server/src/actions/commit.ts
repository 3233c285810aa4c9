import type { UpdateData, UpdateType } from '@parley/protocol'
import type { Transaction } from 'kysely'
import type { Deps } from '../deps.ts'
import { publishUpdates } from '../realtime/publish.ts'
import type { Database } from '../store/schema.ts'
import { type Appended, appendUpdate, lockCounters } from '../store/update-log.repository.ts'

/** Collects the updates an action appends inside its transaction, to publish them after commit. */
export class UpdateLog {
  readonly appended: Appended[] = []

  constructor(
    private readonly trx: Transaction<Database>,
    readonly now: number,
  ) {}

  async append<T extends UpdateType>(
    type: T,
    data: UpdateData<T>,
    audience: Iterable<number>,
  ): Promise<void> {
    this.appended.push(await appendUpdate(this.trx, { type, data, audience, now: this.now }))
  }

  /**
   * Before appending several updates with different audiences in one unit: takes every recipient's
   * counter row at once, in ascending order, so the unit cannot deadlock with another (PostgreSQL).
   */
  async lockAudience(audience: Iterable<number>): Promise<void> {
    await lockCounters(this.trx, audience)
  }
}

/**
 * The shape of every action that users can see: write rows and append updates in one transaction
 * (group-committed on SQLite), then publish the updates on the bus, and only then answer.
 */
export async function commit<T>(
  deps: Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>,
  work: (trx: Transaction<Database>, log: UpdateLog) => Promise<T>,
): Promise<T> {
  let appended: Appended[] = []
  const result = await deps.store.writer.write(async (trx) => {
    const log = new UpdateLog(trx, deps.clock.now())
    const value = await work(trx, log)
    appended = log.appended
    return value
  })
  publishUpdates(deps, appended)
  return result
}
