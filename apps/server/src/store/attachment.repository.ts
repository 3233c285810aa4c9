import type { Updateable } from 'kysely'
import { inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import type { AttachmentRow, AttachmentsTable, NewAttachment } from './schema.ts'

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
}
