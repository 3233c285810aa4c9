import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely'
import type { Dialect } from '../db.ts'

export function idColumn(dialect: Dialect) {
  return (col: ColumnDefinitionBuilder) =>
    dialect === 'postgres'
      ? col.primaryKey().generatedByDefaultAsIdentity()
      : col.primaryKey().autoIncrement()
}
export const idType = (dialect: Dialect) => (dialect === 'postgres' ? 'bigint' : 'integer')

export const identity = (dialect: Dialect) => ({
  async up(db: Kysely<unknown>) {
    const id = idColumn(dialect)
    const idT = idType(dialect)

    await db.schema
      .createTable('users')
      .addColumn('id', idT, id)
      .addColumn('phone_number', 'text', (c) => c.unique())
      .addColumn('username', 'text', (c) => c.unique())
      .addColumn('password_hash', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('about', 'text', (c) => c.notNull())
      .addColumn('avatar_url', 'text')
      .addColumn('privacy_last_seen', 'text', (c) => c.notNull().defaultTo('everyone'))
      .addColumn('privacy_profile_photo', 'text', (c) => c.notNull().defaultTo('everyone'))
      .addColumn('privacy_about', 'text', (c) => c.notNull().defaultTo('everyone'))
      .addColumn('last_seen_at', 'bigint')
      .addColumn('phone_verified_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_at', 'bigint')
      .execute()
    // Prefix search (LIKE 'abc%'). PostgreSQL uses a btree for LIKE only with pattern ops unless the
    // collation is C; SQLite's LIKE is case-insensitive and matches lower-cased values either way.
    const patternOps = dialect === 'postgres' ? sql` text_pattern_ops` : sql``
    await db.schema
      .createIndex('users_name_lower')
      .on('users')
      .expression(sql`lower(name)${patternOps}`)
      .execute()
    await db.schema
      .createIndex('users_username_prefix')
      .on('users')
      .expression(sql`username${patternOps}`)
      .execute()

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('device_name', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_active_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute()
    await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'created_at']).execute()

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute()
    await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute()

    await db.schema
      .createTable('otp_codes')
      .addColumn('id', idT, id)
      .addColumn('phone_number', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('consumed_at', 'bigint')
      .execute()
    await db.schema
      .createIndex('otp_codes_phone')
      .on('otp_codes')
      .columns(['phone_number', 'created_at'])
      .execute()

    await db.schema
      .createTable('contacts')
      .addColumn('user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('contact_user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('contact_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('contacts_pk', ['user_id', 'contact_user_id'])
      .execute()
    await db.schema
      .createIndex('contacts_reverse')
      .on('contacts')
      .columns(['contact_user_id', 'user_id'])
      .execute()

    await db.schema
      .createTable('blocks')
      .addColumn('user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('blocked_user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('blocks_pk', ['user_id', 'blocked_user_id'])
      .execute()
    await db.schema
      .createIndex('blocks_reverse')
      .on('blocks')
      .columns(['blocked_user_id', 'user_id'])
      .execute()

    await db.schema
      .createTable('contact_requests')
      .addColumn('id', idT, id)
      .addColumn('from_user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('to_user_id', idT, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('message', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('responded_at', 'bigint')
      .execute()
    await db.schema
      .createIndex('contact_requests_to')
      .on('contact_requests')
      .columns(['to_user_id', 'status', 'id'])
      .execute()
    await db.schema
      .createIndex('contact_requests_from')
      .on('contact_requests')
      .columns(['from_user_id', 'status', 'id'])
      .execute()

    // At most one pending request per direction, also under concurrent sends.
    await db.schema
      .createIndex('contact_requests_one_pending')
      .on('contact_requests')
      .columns(['from_user_id', 'to_user_id'])
      .unique()
      .where(sql.ref('status'), '=', 'pending')
      .execute()

    await db.schema
      .createTable('server_secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute()
  },
})
