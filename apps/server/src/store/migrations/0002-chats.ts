import type { Kysely } from 'kysely'
import type { Dialect } from '../db.ts'
import { idColumn, idType } from './0001-identity.ts'

/** Chats, members with their receipt watermarks, messages, and the per-user update log (DESIGN §3). */
export const chats = (dialect: Dialect) => ({
  async up(db: Kysely<unknown>) {
    const id = idColumn(dialect)
    const idT = idType(dialect)
    const userRef = 'users.id'

    await db.schema
      .createTable('chats')
      .addColumn('id', idT, id)
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('avatar_url', 'text')
      .addColumn('created_by', idT, (c) => c.references(userRef).onDelete('set null'))
      // "lowId:highId" for private chats: the unique index makes "the one chat of a pair" hold under races.
      .addColumn('private_pair', 'text', (c) => c.unique())
      // Per-chat message counter (DESIGN §3.6); bumped inside the sending transaction.
      .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_activity_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('chat_members')
      .addColumn('chat_id', idT, (c) => c.notNull().references('chats.id').onDelete('cascade'))
      .addColumn('user_id', idT, (c) => c.notNull().references(userRef).onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addColumn('left_at', 'bigint')
      .addColumn('muted_until', 'bigint')
      .addColumn('pinned_at', 'bigint')
      .addColumn('archived_at', 'bigint')
      // Receipt watermarks in per-chat message seq: everything up to here is delivered / read.
      .addColumn('delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('delivered_at', 'bigint')
      .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('read_at', 'bigint')
      .addPrimaryKeyConstraint('chat_members_pk', ['chat_id', 'user_id'])
      .execute()
    await db.schema
      .createIndex('chat_members_user')
      .on('chat_members')
      .columns(['user_id', 'chat_id'])
      .execute()

    await db.schema
      .createTable('messages')
      .addColumn('id', idT, id)
      .addColumn('chat_id', idT, (c) => c.notNull().references('chats.id').onDelete('cascade'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('sender_id', idT, (c) => c.references(userRef).onDelete('set null'))
      .addColumn('client_msg_id', 'text')
      .addColumn('message_type', 'text', (c) => c.notNull())
      .addColumn('content', 'text')
      // JSON: location, shared contact or system event, by message_type.
      .addColumn('payload', 'text')
      .addColumn('reply_to_message_id', idT)
      .addColumn('forwarded_from_message_id', idT)
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('edited_at', 'bigint')
      .addColumn('deleted_at', 'bigint')
      .execute()
    await db.schema
      .createIndex('messages_chat_seq')
      .on('messages')
      .columns(['chat_id', 'seq'])
      .unique()
      .execute()
    // Idempotent sends (DESIGN §3.2): one message per sender and client id, across retries and nodes.
    await db.schema
      .createIndex('messages_client_id')
      .on('messages')
      .columns(['sender_id', 'client_msg_id'])
      .unique()
      .execute()

    await db.schema
      .createTable('message_edits')
      .addColumn('id', idT, id)
      .addColumn('message_id', idT, (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('content', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex('message_edits_message')
      .on('message_edits')
      .columns(['message_id', 'id'])
      .execute()

    await db.schema
      .createTable('message_hidden')
      .addColumn('user_id', idT, (c) => c.notNull().references(userRef).onDelete('cascade'))
      .addColumn('message_id', idT, (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_hidden_pk', ['user_id', 'message_id'])
      .execute()

    await db.schema
      .createTable('reactions')
      .addColumn('message_id', idT, (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('user_id', idT, (c) => c.notNull().references(userRef).onDelete('cascade'))
      .addColumn('emoji', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'user_id', 'emoji'])
      .execute()

    // The update log: each change's payload once, and (user, seq) → change per recipient.
    await db.schema
      .createTable('changes')
      .addColumn('id', idT, id)
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('user_updates')
      .addColumn('user_id', idT, (c) => c.notNull().references(userRef).onDelete('cascade'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('change_id', idT, (c) => c.notNull().references('changes.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_updates_pk', ['user_id', 'seq'])
      .execute()
    await db.schema.createIndex('user_updates_created').on('user_updates').column('created_at').execute()
    // Per-user counters, taken in ascending user id order inside each transaction (no gaps, no deadlock).
    await db.schema
      .createTable('user_seqs')
      .addColumn('user_id', idT, (c) => c.primaryKey().references(userRef).onDelete('cascade'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      // Updates up to here were removed by retention: a cursor below it must resync.
      .addColumn('purged_through', 'bigint', (c) => c.notNull().defaultTo(0))
      // The user's devices acknowledged (sync cursor or WebSocket ack) everything up to here.
      .addColumn('acked_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute()
  },
})
