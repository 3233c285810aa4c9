import { sql } from 'kysely'
import type { Store } from './db.ts'

/** Advisory lock key space of Parley's background jobs (the second key is a hash of the job name). */
const JOB_LOCK_SPACE = 0x7061726c // "parl"

/**
 * Runs `work` only if no other node is running the job `name` (DESIGN §1: one leader via a database
 * lock). PostgreSQL: a session advisory lock, tried (never waited for) on one pooled connection that
 * is held for the run and unlocked after it; if the node dies, the lock goes with its connection.
 * SQLite has one process: it always leads.
 */
export async function withJobLock<T>(
  store: Store,
  name: string,
  work: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  if (store.dialect === 'sqlite') return { ran: true, value: await work() }
  return store.db.connection().execute(async (connection) => {
    const { rows } = await sql<{
      locked: boolean
    }>`select pg_try_advisory_lock(${JOB_LOCK_SPACE}, hashtext(${name})) as locked`.execute(connection)
    if (!rows[0]?.locked) return { ran: false as const }
    try {
      return { ran: true as const, value: await work() }
    } finally {
      await sql`select pg_advisory_unlock(${JOB_LOCK_SPACE}, hashtext(${name}))`.execute(connection)
    }
  })
}
