import type { Update, UpdateData, UpdateType } from '@parley/protocol'
import { sql } from 'kysely'
import { CHUNK, eachChunk, inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import { prepared } from './prepared.ts'

/** One appended change and the seq it got in each recipient's log. */
export interface Appended {
  type: UpdateType
  /** The change's data serialised once; every recipient's frame reuses these bytes. */
  dataJson: string
  seqs: Array<{ userId: number; seq: number }>
}

// The queries of every send and acknowledgement, compiled once (store/prepared.ts).
const insertChange = prepared(
  (db, type: UpdateType, data: string, createdAt: number, messageId: number | null) =>
    db
      .insertInto('changes')
      .values({ type, data, created_at: createdAt, message_id: messageId })
      .returning('id'),
)

/** The update types whose data carries a message's content (its text, location, contact, reactions). */
export const CONTENT_UPDATE_TYPES = ['message:new', 'message:edited'] as const satisfies UpdateType[]
type ContentUpdateType = (typeof CONTENT_UPDATE_TYPES)[number]

/** The message whose content a change carries, so a delete for everyone can find the change again. */
function contentOf(type: UpdateType, data: unknown): number | null {
  return (CONTENT_UPDATE_TYPES as readonly UpdateType[]).includes(type)
    ? (data as UpdateData<ContentUpdateType>).message.id
    : null
}
const takeSeqs = prepared((db, ...userIds: number[]) =>
  db
    .insertInto('user_seqs')
    .values(userIds.map((userId) => ({ user_id: userId, seq: 1, purged_through: 0, acked_seq: 0 })))
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ seq: sql`user_seqs.seq + 1` }))
    .returning(['user_id', 'seq']),
)
const lockSeqs = prepared((db, ...userIds: number[]) =>
  db
    .insertInto('user_seqs')
    .values(userIds.map((userId) => ({ user_id: userId, seq: 0, purged_through: 0, acked_seq: 0 })))
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ seq: sql`user_seqs.seq` })),
)
/** Rows of (user_id, seq, change_id, created_at), flattened. */
const insertUpdates = prepared((db, ...values: number[]) => {
  const rows = []
  for (let i = 0; i < values.length; i += 4) {
    rows.push({
      user_id: values[i] as number,
      seq: values[i + 1] as number,
      change_id: values[i + 2] as number,
      created_at: values[i + 3] as number,
    })
  }
  return db.insertInto('user_updates').values(rows)
})
const ackedOf = prepared((db, userId: number) =>
  db.selectFrom('user_seqs').select(['acked_seq', 'seq']).where('user_id', '=', userId),
)
const typeBetween = prepared((db, userId: number, type: UpdateType, after: number, through: number) =>
  db
    .selectFrom('user_updates')
    .innerJoin('changes', 'changes.id', 'user_updates.change_id')
    .select(['user_updates.seq', 'changes.data'])
    .where('user_updates.user_id', '=', userId)
    .where('user_updates.seq', '>', after)
    .where('user_updates.seq', '<=', through)
    .where('changes.type', '=', type)
    .orderBy('user_updates.seq'),
)
const raiseAcked = prepared((db, userId: number, seq: number) =>
  db
    .updateTable('user_seqs')
    .set({ acked_seq: seq })
    .where('user_id', '=', userId)
    .where('acked_seq', '<', seq),
)

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
  const [change] = (
    await insertChange(trx, input.type, dataJson, input.now, contentOf(input.type, input.data))
  ).rows
  if (!change) throw new Error('insert into changes returned no id')
  const changeId = Number(change.id)

  const seqs: Array<{ userId: number; seq: number }> = []
  for (let start = 0; start < audience.length; start += CHUNK) {
    const { rows } = await takeSeqs(trx, ...audience.slice(start, start + CHUNK))
    const values: number[] = []
    for (const row of rows) {
      const userId = Number(row.user_id)
      const seq = Number(row.seq)
      seqs.push({ userId, seq })
      values.push(userId, seq, changeId, input.now)
    }
    await insertUpdates(trx, ...values)
  }
  return { type: input.type, dataJson, seqs }
}

/**
 * Takes the counter rows of `userIds` in ascending user id order without moving them (a missing row
 * is created at seq 0, so the user's first update still gets seq 1). A unit of work that appends
 * several updates with different audiences calls it first with their union: its row locks are then
 * taken in one ascending pass, as a single append's are, and cannot deadlock with another unit's.
 */
export async function lockCounters(trx: Executor, userIds: Iterable<number>): Promise<void> {
  const users = [...new Set(userIds)].sort((a, b) => a - b)
  for (let start = 0; start < users.length; start += CHUNK) {
    await lockSeqs(trx, ...users.slice(start, start + CHUNK))
  }
}

export class UpdateLogRepository {
  constructor(private readonly db: Executor) {}

  /** The stored changes that carry the content of any of `messageIds` (see CONTENT_UPDATE_TYPES). */
  changesCarrying(
    messageIds: readonly number[],
  ): Promise<Array<{ id: number; type: ContentUpdateType; data: UpdateData<ContentUpdateType> }>> {
    return inChunks([...new Set(messageIds)], async (chunk) => {
      const rows = await this.db
        .selectFrom('changes')
        .select(['id', 'type', 'data'])
        .where('message_id', 'in', chunk)
        .where('type', 'in', CONTENT_UPDATE_TYPES)
        .execute()
      return rows.map((row) => ({
        id: Number(row.id),
        type: row.type as ContentUpdateType,
        data: JSON.parse(row.data) as UpdateData<ContentUpdateType>,
      }))
    })
  }

  /** Replaces a stored change's data (a delete for everyone scrubbing the content it carried). */
  async rewriteChange(changeId: number, data: UpdateData<ContentUpdateType>): Promise<void> {
    await this.db
      .updateTable('changes')
      .set({ data: JSON.stringify(data) })
      .where('id', '=', changeId)
      .execute()
  }

  /**
   * Points `userId`'s entries for the changes carrying a message's content at another change instead
   * (a delete for me: that user's replay says `message:deleted` where it said `message:new`). The
   * entries keep their seqs, so the log stays one unbroken run; other users' entries are untouched.
   */
  async replaceForUser<T extends UpdateType>(
    userId: number,
    messageId: number,
    replacement: { type: T; data: UpdateData<T>; now: number },
  ): Promise<void> {
    const [change] = (
      await insertChange(this.db, replacement.type, JSON.stringify(replacement.data), replacement.now, null)
    ).rows
    if (!change) throw new Error('insert into changes returned no id')
    await this.db
      .updateTable('user_updates')
      .set({ change_id: Number(change.id) })
      .where('user_id', '=', userId)
      .where('change_id', 'in', (eb) =>
        eb
          .selectFrom('changes')
          .select('changes.id')
          .where('changes.message_id', '=', messageId)
          .where('changes.type', 'in', CONTENT_UPDATE_TYPES),
      )
      .execute()
  }

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

  /** The user's updates of one type with seq in (after, through], in seq order. */
  async ofTypeBetween<T extends UpdateType>(
    userId: number,
    type: T,
    after: number,
    through: number,
  ): Promise<Array<{ seq: number; data: UpdateData<T> }>> {
    const { rows } = await typeBetween(this.db, userId, type, after, through)
    return rows.map((row) => ({ seq: Number(row.seq), data: JSON.parse(row.data) as UpdateData<T> }))
  }

  /** How far the user's devices have acknowledged their log, and its newest seq. */
  async acked(userId: number): Promise<{ ackedSeq: number; seq: number }> {
    const [row] = (await ackedOf(this.db, userId)).rows
    return { ackedSeq: Number(row?.acked_seq ?? 0), seq: Number(row?.seq ?? 0) }
  }

  /** Moves the user's acknowledged cursor forward only. */
  async advanceAcked(userId: number, seq: number): Promise<void> {
    await raiseAcked(this.db, userId, seq)
  }

  /**
   * Retention: per user with updates made before `cutoff`, the newest seq among those, ascending by
   * user id. Everything up to it goes, so each user's log stays one unbroken run of seqs.
   */
  async expiredThrough(cutoff: number): Promise<Array<{ userId: number; through: number }>> {
    const rows = await this.db
      .selectFrom('user_updates')
      .select(['user_id', (eb) => eb.fn.max('seq').as('through')])
      .where('created_at', '<', cutoff)
      .groupBy('user_id')
      .orderBy('user_id')
      .execute()
    return rows.map((row) => ({ userId: Number(row.user_id), through: Number(row.through) }))
  }

  /**
   * Retention: removes each user's updates up to `through` and records it as their `purged_through`
   * (never moving it back), so a sync cursor below it answers `resync_required`. Counter rows are
   * taken one by one in ascending user id order, as appends take them, so this cannot deadlock with
   * a send. Answers how many updates went.
   */
  async purgeThrough(targets: ReadonlyArray<{ userId: number; through: number }>): Promise<number> {
    if (targets.length === 0) return 0
    const sorted = [...targets].sort((a, b) => a.userId - b.userId)
    for (const { userId, through } of sorted) {
      await this.db
        .updateTable('user_seqs')
        .set({ purged_through: through })
        .where('user_id', '=', userId)
        .where('purged_through', '<', through)
        .execute()
    }
    let deleted = 0
    await eachChunk(sorted, async (chunk) => {
      const result = await this.db
        .deleteFrom('user_updates')
        .where(
          'user_id',
          'in',
          chunk.map((target) => target.userId),
        )
        .where(({ eb, selectFrom }) =>
          eb(
            'seq',
            '<=',
            selectFrom('user_seqs')
              .select('user_seqs.purged_through')
              .whereRef('user_seqs.user_id', '=', 'user_updates.user_id'),
          ),
        )
        .executeTakeFirst()
      deleted += Number(result.numDeletedRows)
    })
    return deleted
  }

  /**
   * Retention: removes changes made before `cutoff` that no user's log refers to any more (younger
   * ones may still be getting their references in a transaction that has not committed yet).
   */
  async deleteUnreferencedChanges(cutoff: number): Promise<number> {
    const result = await this.db
      .deleteFrom('changes')
      .where('created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('user_updates')
              .select('user_updates.change_id')
              .whereRef('user_updates.change_id', '=', 'changes.id'),
          ),
        ),
      )
      .executeTakeFirst()
    return Number(result.numDeletedRows)
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
