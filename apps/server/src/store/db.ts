import fs from 'node:fs'
import path from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, type Transaction } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'
import { GroupCommitWriter, transactionWriter, type Writer } from './writer.ts'

export type Dialect = 'sqlite' | 'postgres'
export type Db = Kysely<Database>
/** Repositories take either the database or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>

export interface Store {
  db: Db
  dialect: Dialect
  /** Transactions whose changes users see (messages, the update log): group-committed on SQLite. */
  writer: Writer
  close(): Promise<void>
}

// BIGINT (ids, epoch-ms times) and COUNT(*) come back from pg as strings; every value we store fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/**
 * Sets a file's mode whatever the umask was when it was created (and on files an older version left
 * behind). A path owned by someone else (a volume prepared by the operator) is left as it is.
 */
export function restrictMode(target: string, mode: number) {
  try {
    fs.chmodSync(target, mode)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOENT') throw error
  }
}

export function openSqlite(file: string): Store {
  // The database holds every message and session: readable by the server's user only.
  const dir = path.dirname(file)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  restrictMode(dir, 0o700)
  // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode.
  fs.closeSync(fs.openSync(file, 'a', 0o600))
  restrictMode(file, 0o600)
  const database = new SqliteDatabase(file)
  database.pragma('journal_mode = WAL')
  for (const suffix of ['-wal', '-shm']) restrictMode(`${file}${suffix}`, 0o600)
  // better-sqlite3 reopens an existing WAL file with synchronous=NORMAL; a send is acked only after an fsync.
  database.pragma('synchronous = FULL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
  // 64 MiB of page cache (the default is 2 MiB): the hot tables of a busy server stay in memory.
  database.pragma('cache_size = -65536')
  database.pragma('temp_store = MEMORY')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) })
  return { db, dialect: 'sqlite', writer: new GroupCommitWriter(db), close: () => db.destroy() }
}

const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely prepares every query afresh, and preparing was the largest single cost of a send (profiled:
 * ~14 % of CPU). Prepared statements are reusable in better-sqlite3 (Kysely only calls all()/run()
 * synchronously on them), so keep the most recent ones by SQL text.
 */
function withStatementCache(database: SqliteDatabase.Database) {
  const statements = new Map<string, SqliteDatabase.Statement>()
  return {
    close: () => database.close(),
    prepare(query: string) {
      let statement = statements.get(query)
      if (statement) {
        // Refresh its place so the cache evicts the least recently used.
        statements.delete(query)
      } else {
        statement = database.prepare(query)
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value ?? '')
      }
      statements.set(query, statement)
      return statement
    },
  }
}

export function openPostgres(connectionString: string, options: { maxConnections?: number } = {}): Store {
  // No connectionTimeoutMillis: it also bounds the wait for a free pooled connection, and under a
  // reconnect storm that wait is long but harmless (test/resilience-storm.test.ts answered 503s with 5 s).
  const pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 20 })
  // An idle pooled connection whose server went away (PostgreSQL restarted) emits 'error' on the pool;
  // unheard, that would end the process. The pool drops that connection and opens a new one when needed.
  pool.on('error', () => {})
  // The same for a connection checked out by a transaction that is between two queries: its error event
  // would otherwise be unheard (a PostgreSQL restart ended the process, found by
  // test/resilience-postgres.test.ts). Its next query fails (→ 503) and the pool discards it on release.
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, dialect: 'postgres', writer: transactionWriter(db), close: () => db.destroy() }
}

/** A unique index refused the row: the loser of a race reads the winner's row or answers `conflict`. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
