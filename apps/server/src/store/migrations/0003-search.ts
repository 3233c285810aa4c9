import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../db.ts'

/**
 * Full-text search over message text, and the index that retention needs.
 *
 * SQLite: an FTS5 external-content table over `messages.content` (the text is stored once, in
 * `messages`), kept in step by triggers on insert, on update of `content` (edits, and a delete for
 * everyone that clears the text) and on delete. `unicode61` with diacritics kept, so both dialects
 * agree that "cafe" does not find "café".
 * PostgreSQL: a generated `tsvector` column with the `simple` configuration (no stemming, no stop
 * words: every language alike) and a GIN index.
 */
const ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'

export const search = (dialect: Dialect) => ({
  async up(db: Kysely<unknown>) {
    if (dialect === 'sqlite') {
      await sql`create virtual table messages_fts using fts5(
        content,
        content = 'messages',
        content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 0'
      )`.execute(db)
      await sql`create trigger messages_fts_insert after insert on messages begin
        insert into messages_fts (rowid, content) values (new.id, new.content);
      end`.execute(db)
      await sql`create trigger messages_fts_update after update of content on messages begin
        insert into messages_fts (messages_fts, rowid, content) values ('delete', old.id, old.content);
        insert into messages_fts (rowid, content) values (new.id, new.content);
      end`.execute(db)
      await sql`create trigger messages_fts_delete after delete on messages begin
        insert into messages_fts (messages_fts, rowid, content) values ('delete', old.id, old.content);
      end`.execute(db)
      // Messages written before this migration.
      await sql`insert into messages_fts (messages_fts) values ('rebuild')`.execute(db)
    } else {
      // ASCII punctuation becomes a space first, so words are runs of letters and digits as in FTS5's
      // unicode61 (PostgreSQL's parser would otherwise keep "a@b.com" or "<b>" as single tokens).
      await sql`alter table messages add column search_vector tsvector
        generated always as (to_tsvector('simple', translate(coalesce(content, ''), ${sql.lit(ASCII_PUNCTUATION)}, ${sql.lit(' '.repeat(ASCII_PUNCTUATION.length))}))) stored`.execute(
        db,
      )
      await sql`create index messages_search on messages using gin (search_vector)`.execute(db)
    }

    // Retention drops changes no recipient references any more: find references by change id.
    await db.schema.createIndex('user_updates_change').on('user_updates').column('change_id').execute()
  },
})
