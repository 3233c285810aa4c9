import type { Update, UpdateData, UpdateType } from '@parley/protocol'
import { sql } from 'kysely'
import type { Executor } from './db.ts'

/** One appended change and the seq it got in each recipient's log. */
export interface Appended {
  type: UpdateType
  /** The change's data serialised once; every recipient's frame reuses these bytes. */
  dataJson: string
  seqs: Array<{ userId: number; seq: number }>
}

// Stay well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500

/**
 * Appends a change to the update log of every user in `audience`, inside the caller's transaction:
 * the payload once in `changes`, one `(user_id, seq, change_id)` per recipient. Each recipient's seq
 * comes from their counter row, taken in ascending user id order so concurrent appends to
 * overlapping audiences cannot deadlock and no seq is ever skipped (DESIGN §3.3).
 */
export async function appendUpdate<T extends UpdateType>(
  trx: Executor,
  input: { type: T; data: UpdateData<T>; audience: Iterable<number>; now: number },
): Promise<Appended> {
  const audience = [...new Set(input.audience)].sort((a, b) => a - b)
  const dataJson = JSON.stringify(input.data)
  if (audience.length === 0) return { type: input.type, dataJson, seqs: [] }
  const { id: changeId } = await trx
    .insertInto('changes')
    .values({ type: input.type, data: dataJson, created_at: input.now })
    .returning('id')
    .executeTakeFirstOrThrow()

  const seqs: Array<{ userId: number; seq: number }> = []
  for (let start = 0; start < audience.length; start += CHUNK) {
    const users = audience.slice(start, start + CHUNK)
    const rows = await trx
      .insertInto('user_seqs')
      .values(users.map((userId) => ({ user_id: userId, seq: 1, purged_through: 0, acked_seq: 0 })))
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ seq: sql`user_seqs.seq + 1` }))
      .returning(['user_id', 'seq'])
      .execute()
    for (const row of rows) seqs.push({ userId: Number(row.user_id), seq: Number(row.seq) })
    await trx
      .insertInto('user_updates')
      .values(
        rows.map((row) => ({
          user_id: row.user_id,
          seq: row.seq,
          change_id: changeId,
          created_at: input.now,
        })),
      )
      .execute()
  }
  return { type: input.type, dataJson, seqs }
}

export class UpdateLogRepository {
  constructor(private readonly db: Executor) {}

  /** The user's updates after `since`, in seq order. */
  async readSince(userId: number, since: number, limit: number): Promise<Update[]> {
    const rows = await this.db
      .selectFrom('user_updates')
      .innerJoin('changes', 'changes.id', 'user_updates.change_id')
      .select(['user_updates.seq', 'changes.type', 'changes.data'])
      .where('user_updates.user_id', '=', userId)
      .where('user_updates.seq', '>', since)
      .orderBy('user_updates.seq')
      .limit(limit)
      .execute()
    return rows.map((row) => ({ seq: Number(row.seq), type: row.type, data: JSON.parse(row.data) }) as Update)
  }

  async cursor(userId: number): Promise<{ seq: number; purgedThrough: number }> {
    const row = await this.db
      .selectFrom('user_seqs')
      .select(['seq', 'purged_through'])
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return { seq: Number(row?.seq ?? 0), purgedThrough: Number(row?.purged_through ?? 0) }
  }
}
