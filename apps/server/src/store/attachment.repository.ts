import type { Updateable } from 'kysely'
import { inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import type { AttachmentRow, AttachmentsTable, NewAttachment } from './schema.ts'

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
