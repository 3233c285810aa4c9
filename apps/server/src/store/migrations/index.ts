import type { Kysely, Migration, MigrationProvider } from 'kysely'
import type { Dialect } from '../db.ts'
import { identity } from './0001-identity.ts'
import { chats } from './0002-chats.ts'
import { search } from './0003-search.ts'
import { changeSubjects } from './0004-change-subjects.ts'
import { attachments } from './0005-attachments.ts'

/**
 * One migration set for both dialects. A migration is a factory of the dialect so the few places
 * where SQLite and PostgreSQL differ (auto-increment ids) are spelled out next to the table.
 */
export type DialectMigration = (dialect: Dialect) => { up(db: Kysely<unknown>): Promise<void> }

const ALL: Record<string, DialectMigration> = {
  '0001-identity': identity,
  '0002-chats': chats,
  '0003-search': search,
  '0004-change-subjects': changeSubjects,
  '0005-attachments': attachments,
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    getMigrations: async () =>
      Object.fromEntries(Object.entries(ALL).map(([name, make]) => [name, make(dialect) as Migration])),
  }
}
