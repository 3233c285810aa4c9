import type { UpdateData, UpdateType } from '@parley/protocol'
import type { Transaction } from 'kysely'
import type { Deps } from '../deps.ts'
import { publishUpdates } from '../realtime/publish.ts'
import type { Database } from '../store/schema.ts'
import { type Appended, appendUpdate, lockCounters } from '../store/update-log.repository.ts'

/**
 * Collects the updates an action appends inside its transaction, to publish them after commit.
 * Appends are written when the unit's work is done (`flush`, inside the same transaction): first every
 * recipient's counter row at once in ascending user id order, then the updates in the order they were
 * appended. So every unit takes its counter locks last and in one ascending pass, whatever its audiences,
 * and two units cannot deadlock on them (PostgreSQL; DESIGN §3).
 */
export class UpdateLog {
  readonly appended: Appended[] = []
  private readonly pending: Array<{ type: UpdateType; data: unknown; audience: number[] }> = []

  constructor(
    private readonly trx: Transaction<Database>,
    readonly now: number,
  ) {}

  async append<T extends UpdateType>(
    type: T,
    data: UpdateData<T>,
    audience: Iterable<number>,
  ): Promise<void> {
    this.pending.push({ type, data, audience: [...audience] })
  }

  /** Writes the appended updates; `commit` calls it after the work, before the transaction ends. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return
    if (this.pending.length > 1) {
      await lockCounters(
        this.trx,
        this.pending.flatMap((entry) => entry.audience),
      )
    }
    for (const { type, data, audience } of this.pending.splice(0)) {
      this.appended.push(
        await appendUpdate(this.trx, {
          type,
          data: data as UpdateData<typeof type>,
          audience,
          now: this.now,
        }),
      )
    }
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
    await log.flush()
    appended = log.appended
    return value
  })
  publishUpdates(deps, appended)
  return result
}
