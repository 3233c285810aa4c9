import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from './schema.ts'
import { GroupCommitWriter } from './writer.ts'

describe('GroupCommitWriter (SQLite group commit)', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  async function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-writer-'))
    const file = path.join(dir, 'w.db')
    const database = new SqliteDatabase(file)
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    let begins = 0
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database }),
      log: (event) => {
        if (/^begin/i.test(event.query.sql)) begins += 1
      },
    })
    await sql`create table items (id integer primary key, name text not null unique)`.execute(db)
    // A second connection sees only what was committed.
    const observer = new SqliteDatabase(file, { readonly: true })
    cleanups.push(async () => {
      observer.close()
      await db.destroy()
      fs.rmSync(dir, { recursive: true, force: true })
    })
    const insert = (name: string) => async (trx: Kysely<Database>) => {
      await sql`insert into items (name) values (${name})`.execute(trx)
      return name
    }
    const committed = (name: string) =>
      observer.prepare('select count(*) as n from items where name = ?').get(name) as { n: number }
    return { db, writer: new GroupCommitWriter(db), begins: () => begins, insert, committed }
  }

  it('answers each unit only after its commit, and concurrent units share transactions', async () => {
    const { writer, begins, insert, committed } = await setup()
    const names = Array.from({ length: 100 }, (_, i) => `item-${i}`)
    const answers = await Promise.all(
      names.map((name) =>
        writer.write(insert(name)).then((value) => ({ value, visible: committed(name).n })),
      ),
    )
    expect(answers.map((answer) => answer.value)).toEqual(names)
    // Visible to another connection at the moment the unit was answered: committed first.
    expect(answers.every((answer) => answer.visible === 1)).toBe(true)
    expect(begins()).toBeLessThan(names.length / 4)
  })

  it('rolls back a failing unit alone; the others in its batch commit', async () => {
    const { writer, insert, committed } = await setup()
    const outcomes = await Promise.allSettled([
      writer.write(insert('a')),
      writer.write(insert('a')), // unique violation
      writer.write(async (trx) => {
        await insert('b')(trx)
        throw new Error('changed my mind')
      }),
      writer.write(insert('c')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ])
    expect([committed('a').n, committed('b').n, committed('c').n]).toEqual([1, 0, 1])
  })
})
