import type { Kysely } from 'kysely'
import type { Dialect } from '../db.ts'
import { idColumn, idType } from './0001-identity.ts'

/**
 * Media (issue 10). An attachment is one uploaded file and what processing made of it (variants such as
 * the thumbnail live in `variants`, JSON). Messages hold attachments through `message_attachments` (an
 * album is several rows; a forward adds rows pointing at the same attachment, so a blob is stored once
 * and referenced many times); avatars through `users.avatar_attachment_id` / `chats.avatar_attachment_id`.
 * A blob is removed when nothing references it any more (housekeeping counts references; no counter
 * column to drift).
 */
export const attachments = (dialect: Dialect) => ({
  async up(db: Kysely<unknown>) {
    const id = idColumn(dialect)
    const idT = idType(dialect)

    await db.schema
      .createTable('attachments')
      .addColumn('id', idT, id)
      .addColumn('owner_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('reject_reason', 'text')
      .addColumn('declared_mime', 'text', (c) => c.notNull())
      .addColumn('declared_size', 'bigint', (c) => c.notNull())
      // Sniffed from the bytes; null until they are.
      .addColumn('mime', 'text')
      .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('file_name', 'text')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('duration_ms', 'integer')
      .addColumn('placeholder', 'text')
      .addColumn('waveform', 'text')
      .addColumn('storage_key', 'text', (c) => c.notNull().unique())
      .addColumn('variants', 'text')
      // Resumable uploads: the S3 multipart upload id, or the bytes a disk upload has received so far.
      .addColumn('upload_id', 'text')
      .addColumn('received_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addColumn('ready_at', 'bigint')
      // First attached to a message or avatar; unattached uploads are removed after a day.
      .addColumn('attached_at', 'bigint')
      .execute()
    await db.schema.createIndex('attachments_owner').on('attachments').columns(['owner_id', 'id']).execute()
    await db.schema
      .createIndex('attachments_housekeeping')
      .on('attachments')
      .columns(['attached_at', 'created_at'])
      .execute()

    await db.schema
      .createTable('message_attachments')
      .addColumn('message_id', idT, (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('attachment_id', idT, (c) => c.notNull().references('attachments.id'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_attachments_pk', ['message_id', 'position'])
      .execute()
    await db.schema
      .createIndex('message_attachments_attachment')
      .on('message_attachments')
      .columns(['attachment_id', 'message_id'])
      .execute()

    await db.schema
      .alterTable('users')
      .addColumn('avatar_attachment_id', idT, (c) => c.references('attachments.id').onDelete('set null'))
      .execute()
    await db.schema
      .alterTable('chats')
      .addColumn('avatar_attachment_id', idT, (c) => c.references('attachments.id').onDelete('set null'))
      .execute()
  },
})
