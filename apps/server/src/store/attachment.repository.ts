import type { AttachmentState } from '@parley/protocol'
import { type ExpressionBuilder, sql, type Updateable } from 'kysely'
import { inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import type { AttachmentRow, AttachmentsTable, Database, NewAttachment } from './schema.ts'

/** An attachment as one message holds it (an album's position, from 0). */
export type MessageAttachmentRow = AttachmentRow & { message_id: number; position: number }

export class AttachmentRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: NewAttachment): Promise<AttachmentRow> {
    const { id } = await this.db
      .insertInto('attachments')
      .values(row)
      .returning('id')
      .executeTakeFirstOrThrow()
    const inserted = await this.findById(Number(id))
    if (!inserted) throw new Error('attachment vanished after insert')
    return inserted
  }

  findById(id: number): Promise<AttachmentRow | undefined> {
    return this.db.selectFrom('attachments').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The rows among `ids`, any owner; callers check ownership or access. */
  findByIds(ids: readonly number[]): Promise<AttachmentRow[]> {
    return inChunks(ids, (chunk) =>
      this.db.selectFrom('attachments').selectAll().where('id', 'in', chunk).execute(),
    )
  }

  async update(id: number, changes: Updateable<AttachmentsTable>): Promise<void> {
    await this.db.updateTable('attachments').set(changes).where('id', '=', id).execute()
  }

  /**
   * Bytes a user's media take or have reserved: the stored size of what arrived, the declared size of
   * uploads still under way; rejected files count for nothing (housekeeping removes them).
   */
  async bytesUsedBy(ownerId: number): Promise<number> {
    const row = await this.db
      .selectFrom('attachments')
      .select(
        sql<string | number | null>`sum(case when state = 'uploading' then declared_size else size end)`.as(
          'used',
        ),
      )
      .where('owner_id', '=', ownerId)
      .where('state', '!=', 'rejected')
      .executeTakeFirst()
    return Number(row?.used ?? 0)
  }

  /** Applies `changes` only while the row is in state `from`; answers whether it was. */
  async moveState(
    id: number,
    from: AttachmentState,
    changes: Updateable<AttachmentsTable>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('attachments')
      .set(changes)
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  findByStorageKey(storageKey: string): Promise<AttachmentRow | undefined> {
    return this.db
      .selectFrom('attachments')
      .selectAll()
      .where('storage_key', '=', storageKey)
      .executeTakeFirst()
  }

  /**
   * The attachments of many messages (history pages, chat lists, reply previews), each message's in
   * album order, in one query per 500 messages: a page never costs a query per message.
   */
  async ofMessages(messageIds: readonly number[]): Promise<Map<number, MessageAttachmentRow[]>> {
    const rows = await inChunks([...new Set(messageIds)], (chunk) =>
      this.db
        .selectFrom('message_attachments')
        .innerJoin('attachments', 'attachments.id', 'message_attachments.attachment_id')
        .selectAll('attachments')
        .select(['message_attachments.message_id', 'message_attachments.position'])
        .where('message_attachments.message_id', 'in', chunk)
        .execute(),
    )
    const byMessage = new Map<number, MessageAttachmentRow[]>()
    for (const row of rows) {
      const attached = { ...row, message_id: Number(row.message_id), position: Number(row.position) }
      const list = byMessage.get(attached.message_id)
      if (list) list.push(attached)
      else byMessage.set(attached.message_id, [attached])
    }
    for (const list of byMessage.values()) list.sort((a, b) => a.position - b.position)
    return byMessage
  }

  /**
   * Holds `attachmentIds` (in this order) in a message and marks each attached from now on (the first
   * time only): from then on housekeeping removes it once nothing references it any more.
   */
  async attachToMessage(messageId: number, attachmentIds: readonly number[], now: number): Promise<void> {
    if (attachmentIds.length === 0) return
    await this.db
      .insertInto('message_attachments')
      .values(
        attachmentIds.map((attachmentId, position) => ({
          message_id: messageId,
          attachment_id: attachmentId,
          position,
        })),
      )
      .execute()
    await this.markAttached(attachmentIds, now)
  }

  async markAttached(attachmentIds: readonly number[], now: number): Promise<void> {
    if (attachmentIds.length === 0) return
    await this.db
      .updateTable('attachments')
      .set({ attached_at: now })
      .where('id', 'in', [...attachmentIds])
      .where('attached_at', 'is', null)
      .execute()
  }

  /**
   * Housekeeping's candidates: never attached and created before `unattachedBefore`, or attached once
   * and referenced by nothing now (no message_attachments row of a message not deleted for everyone, no
   * user or chat avatar). At most `limit` rows, oldest first.
   */
  unreferenced(unattachedBefore: number, limit: number): Promise<AttachmentRow[]> {
    return this.db
      .selectFrom('attachments')
      .selectAll()
      .where((eb) => unreferencedRule(eb, unattachedBefore))
      .orderBy('id')
      .limit(limit)
      .execute()
  }

  /**
   * Deletes the attachment and its dead message links if it is still unreferenced (checked in the
   * same transaction, so one attached meanwhile stays). Answers whether it went.
   */
  async removeIfUnreferenced(id: number, unattachedBefore: number): Promise<boolean> {
    const still = await this.db
      .selectFrom('attachments')
      .select('id')
      .where('id', '=', id)
      .where((eb) => unreferencedRule(eb, unattachedBefore))
      .executeTakeFirst()
    if (!still) return false
    await this.remove(id)
    return true
  }

  /** Deletes the row and its (now dead) message links. */
  async remove(id: number): Promise<void> {
    await this.db.deleteFrom('message_attachments').where('attachment_id', '=', id).execute()
    await this.db.deleteFrom('attachments').where('id', '=', id).execute()
  }

  /** Bytes stored for ready attachments, for the metrics gauge. */
  async storedBytes(): Promise<number> {
    const row = await this.db
      .selectFrom('attachments')
      .select(sql<string | number | null>`sum(size)`.as('total'))
      .where('state', '=', 'ready')
      .executeTakeFirst()
    return Number(row?.total ?? 0)
  }

  /** A message deleted for everyone no longer holds its media (the blobs go once nothing else does). */
  async detachFromMessage(messageId: number): Promise<void> {
    await this.db.deleteFrom('message_attachments').where('message_id', '=', messageId).execute()
  }

  /** Deletes those of `ids` never attached to anything; answers the rows it deleted (for their blobs). */
  async deleteUnattached(ids: readonly number[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return []
    const rows = (await this.findByIds(ids)).filter((row) => row.attached_at === null)
    if (rows.length === 0) return []
    await this.db
      .deleteFrom('attachments')
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .where('attached_at', 'is', null)
      .execute()
    return rows
  }
}

/** The housekeeping rule as a condition on `attachments` (docs/api/media.md, "Housekeeping"). */
function unreferencedRule(eb: ExpressionBuilder<Database, 'attachments'>, unattachedBefore: number) {
  return eb.and([
    // Referenced is never removed, even if whoever attached it did not set attached_at.
    eb.not(
      eb.exists(
        eb
          .selectFrom('message_attachments')
          .innerJoin('messages', 'messages.id', 'message_attachments.message_id')
          .select('message_attachments.message_id')
          .whereRef('message_attachments.attachment_id', '=', 'attachments.id')
          .where('messages.deleted_at', 'is', null),
      ),
    ),
    eb.not(
      eb.exists(
        eb
          .selectFrom('users')
          .select('users.id')
          .whereRef('users.avatar_attachment_id', '=', 'attachments.id')
          .where('users.deleted_at', 'is', null),
      ),
    ),
    eb.not(
      eb.exists(
        eb
          .selectFrom('chats')
          .select('chats.id')
          .whereRef('chats.avatar_attachment_id', '=', 'attachments.id'),
      ),
    ),
    // Never attached: a day to be attached. Attached once: gone as soon as nothing refers to it.
    eb.or([
      eb('attachments.attached_at', 'is not', null),
      eb('attachments.created_at', '<', unattachedBefore),
    ]),
  ])
}
