import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../db.ts'
import { idType } from './0001-identity.ts'

/**
 * What a delete for everyone must reach. The log stores each change's data once (`changes.data`), and
 * `message:new` / `message:edited` carry the message's text; so does the reply preview inside a reply's
 * own `message:new`. `changes.message_id` names the message whose content a change carries, so the
 * delete can rewrite those changes to the deleted form in its own transaction; the index on
 * `messages.reply_to_message_id` finds the replies that quote it.
 *
 * Existing rows: the column is filled from the data, and the changes of messages deleted before this
 * migration are scrubbed now (the same rewrite as `actions/message-ops.ts`, frozen here).
 */
type Db = Kysely<{
  changes: { id: number; type: string; data: string; message_id: number | null }
  messages: { id: number; reply_to_message_id: number | null; deleted_at: number | null }
}>

const CARRIES_CONTENT = ['message:new', 'message:edited']

export const changeSubjects = (dialect: Dialect) => ({
  async up(untyped: Kysely<unknown>) {
    const db = untyped as unknown as Db
    await db.schema.alterTable('changes').addColumn('message_id', idType(dialect)).execute()
    await db.schema.createIndex('changes_message').on('changes').column('message_id').execute()
    await db.schema.createIndex('messages_reply_to').on('messages').column('reply_to_message_id').execute()

    const messageId =
      dialect === 'sqlite'
        ? sql<number>`json_extract(data, '$.message.id')`
        : sql<number>`((data::jsonb) #>> '{message,id}')::bigint`
    await db
      .updateTable('changes')
      .set({ message_id: messageId })
      .where('type', 'in', CARRIES_CONTENT)
      .execute()

    // Messages deleted for everyone before the log could be scrubbed: their own changes, and the reply
    // previews that quote them.
    const deleted = db.selectFrom('messages').select('id').where('deleted_at', 'is not', null)
    const own = await db
      .selectFrom('changes')
      .select(['id', 'data'])
      .where('type', 'in', CARRIES_CONTENT)
      .where('message_id', 'in', deleted)
      .execute()
    for (const row of own) {
      const data = JSON.parse(row.data) as { message: Record<string, unknown> }
      Object.assign(data.message, {
        content: null,
        location: null,
        contact: null,
        system: null,
        reactions: [],
        deleted: true,
      })
      await db
        .updateTable('changes')
        .set({ data: JSON.stringify(data) })
        .where('id', '=', row.id)
        .execute()
    }
    const quoting = await db
      .selectFrom('changes')
      .select(['id', 'data'])
      .where('type', 'in', CARRIES_CONTENT)
      .where(
        'message_id',
        'in',
        db.selectFrom('messages').select('id').where('reply_to_message_id', 'in', deleted),
      )
      .execute()
    for (const row of quoting) {
      const data = JSON.parse(row.data) as { message: { reply_to: Record<string, unknown> | null } }
      if (!data.message.reply_to) continue
      Object.assign(data.message.reply_to, { content: null, deleted: true })
      await db
        .updateTable('changes')
        .set({ data: JSON.stringify(data) })
        .where('id', '=', row.id)
        .execute()
    }
  },
})
