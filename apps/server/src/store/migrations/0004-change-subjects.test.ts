import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Migrator, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqlite, type Store } from '../db.ts'
import { migrationProvider } from './index.ts'

/**
 * An install upgraded to 0004: the changes written before it get their `message_id`, and the ones of
 * messages already deleted for everyone (and the reply previews quoting them) are scrubbed.
 */
describe('migration 0004-change-subjects (SQLite)', () => {
  const stores: Array<{ store: Store; dir: string }> = []
  afterEach(async () => {
    for (const { store, dir } of stores.splice(0)) {
      await store.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fills message_id and scrubs what deleted messages left in the log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-migration-'))
    const store = openSqlite(path.join(dir, 'parley.db'))
    stores.push({ store, dir })
    const migrator = new Migrator({ db: store.db, provider: migrationProvider('sqlite') })
    expect((await migrator.migrateTo('0003-search')).error).toBeUndefined()

    const db = store.db
    await sql`insert into users (id, name, about, created_at, updated_at) values (1, 'ada', '', 0, 0)`.execute(
      db,
    )
    await sql`insert into chats (id, type, last_seq, last_activity_at, created_at, updated_at)
      values (1, 'group', 3, 0, 0, 0)`.execute(db)
    const message = (id: number, content: string | null, replyTo: number | null, deletedAt: number | null) =>
      sql`insert into messages (id, chat_id, seq, sender_id, message_type, content, reply_to_message_id, created_at, deleted_at)
        values (${id}, 1, ${id}, 1, 'text', ${content}, ${replyTo}, 0, ${deletedAt})`.execute(db)
    await message(1, null, null, 5) // deleted for everyone before the upgrade
    await message(2, 'kept', null, null)
    await message(3, 'a reply', 1, null)
    const view = (id: number, content: string | null, replyTo: object | null) => ({
      id,
      chat_id: 1,
      content,
      location: null,
      contact: null,
      system: null,
      reply_to: replyTo,
      reactions: [{ emoji: '👍', count: 1, users: [] }],
      deleted: false,
    })
    const change = (id: number, type: string, data: object) =>
      sql`insert into changes (id, type, data, created_at) values (${id}, ${type}, ${JSON.stringify(data)}, 0)`.execute(
        db,
      )
    await change(1, 'message:new', { chat_id: 1, message: view(1, 'the secret', null) })
    await change(2, 'message:edited', { chat_id: 1, message: view(1, 'the secret, edited', null) })
    await change(3, 'message:new', { chat_id: 1, message: view(2, 'kept', null) })
    await change(4, 'message:new', {
      chat_id: 1,
      message: view(3, 'a reply', {
        id: 1,
        sender_id: 1,
        message_type: 'text',
        content: 'the secret',
        deleted: false,
      }),
    })
    await change(5, 'message:deleted', { chat_id: 1, message_id: 1, for: 'everyone' })

    expect((await migrator.migrateToLatest()).error).toBeUndefined()

    const rows = await db.selectFrom('changes').select(['id', 'message_id', 'data']).orderBy('id').execute()
    expect(rows.map((row) => [row.id, row.message_id])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, null],
    ])
    expect(rows.map((row) => row.data).join('\n')).not.toContain('secret')
    const data = rows.map((row) => JSON.parse(row.data))
    expect(data[0].message).toMatchObject({ content: null, deleted: true, reactions: [] })
    expect(data[1].message).toMatchObject({ content: null, deleted: true, reactions: [] })
    expect(data[2].message).toMatchObject({ content: 'kept', deleted: false })
    expect(data[3].message).toMatchObject({
      content: 'a reply',
      reply_to: { id: 1, content: null, deleted: true },
    })
  })
})
