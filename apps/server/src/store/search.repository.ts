import { type RawBuilder, sql } from 'kysely'
import type { Dialect, Executor } from './db.ts'
import { MESSAGE_COLUMNS } from './message.repository.ts'
import type { MessageRow } from './schema.ts'

/** Where a hit sits in a result list: by rank (higher first), then by message id (higher first). */
export interface SearchKey {
  rank: number
  id: number
}

export type SearchRow = MessageRow & { rank: number }

/**
 * Full-text search over message text (migration 0003): FTS5 with bm25 on SQLite, a `tsvector` with
 * ts_rank on PostgreSQL. `terms` must be plain words (letters and digits only): they are matched as
 * word prefixes, all of them required.
 */
export class SearchRepository {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  /**
   * One page of the messages `viewerId` can see that match: in chats they are a current member of,
   * not hidden for them, not deleted, not system messages; optionally in one chat. Ranked, ties by id.
   */
  async search(input: {
    viewerId: number
    terms: readonly string[]
    chatId: number | null
    after: SearchKey | null
    limit: number
  }): Promise<SearchRow[]> {
    const query = this.dialect === 'sqlite' ? this.sqliteQuery(input) : this.postgresQuery(input)
    const { rows } = await query.execute(this.db)
    return rows.map((row) => ({ ...row, rank: Number(row.rank) }))
  }

  private visibleTo(viewerId: number, chatId: number | null) {
    return sql`messages.deleted_at is null
      and messages.message_type <> 'system'
      and exists (select 1 from chat_members cm where cm.chat_id = messages.chat_id and cm.user_id = ${viewerId} and cm.left_at is null)
      and not exists (select 1 from message_hidden h where h.message_id = messages.id and h.user_id = ${viewerId})
      ${chatId === null ? sql`` : sql`and messages.chat_id = ${chatId}`}`
  }

  private sqliteQuery(input: {
    viewerId: number
    terms: readonly string[]
    chatId: number | null
    after: SearchKey | null
    limit: number
  }): RawBuilder<SearchRow> {
    // Each term quoted (no FTS syntax survives) and prefix-matched; juxtaposed terms are all required.
    const match = input.terms.map((term) => `"${term}"*`).join(' ')
    const rank = sql`(-bm25(messages_fts))`
    const after = input.after
      ? sql`and (${rank} < ${input.after.rank} or (${rank} = ${input.after.rank} and messages.id < ${input.after.id}))`
      : sql``
    return sql<SearchRow>`select ${columns()}, ${rank} as rank
      from messages_fts
      join messages on messages.id = messages_fts.rowid
      where messages_fts match ${match}
        and ${this.visibleTo(input.viewerId, input.chatId)}
        ${after}
      order by rank desc, messages.id desc
      limit ${input.limit}`
  }

  private postgresQuery(input: {
    viewerId: number
    terms: readonly string[]
    chatId: number | null
    after: SearchKey | null
    limit: number
  }): RawBuilder<SearchRow> {
    const tsquery = input.terms.map((term) => `${term}:*`).join(' & ')
    const rank = sql`ts_rank(messages.search_vector, query)::float8`
    const after = input.after
      ? sql`and (${rank} < ${input.after.rank} or (${rank} = ${input.after.rank} and messages.id < ${input.after.id}))`
      : sql``
    return sql<SearchRow>`select ${columns()}, ${rank} as rank
      from messages, to_tsquery('simple', ${tsquery}) query
      where messages.search_vector @@ query
        and ${this.visibleTo(input.viewerId, input.chatId)}
        ${after}
      order by rank desc, messages.id desc
      limit ${input.limit}`
  }
}

const columns = () => sql.join(MESSAGE_COLUMNS.map((column) => sql.ref(column)))
