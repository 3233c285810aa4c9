import { type SqlBool, sql } from 'kysely'
import { eachChunk, inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import { prepared } from './prepared.ts'
import type { MessageRow } from './schema.ts'

export const MESSAGE_COLUMNS = [
  'messages.id',
  'messages.chat_id',
  'messages.seq',
  'messages.sender_id',
  'messages.client_msg_id',
  'messages.message_type',
  'messages.content',
  'messages.payload',
  'messages.reply_to_message_id',
  'messages.forwarded_from_message_id',
  'messages.created_at',
  'messages.edited_at',
  'messages.deleted_at',
] as const

// The queries of every send, compiled once (store/prepared.ts).
const INSERTED_FIELDS = [
  'chat_id',
  'seq',
  'sender_id',
  'client_msg_id',
  'message_type',
  'content',
  'payload',
  'reply_to_message_id',
  'forwarded_from_message_id',
  'created_at',
  'edited_at',
  'deleted_at',
] as const satisfies ReadonlyArray<keyof Omit<MessageRow, 'id'>>
const insertMessage = prepared((db, ...values: Array<Omit<MessageRow, 'id'>[keyof Omit<MessageRow, 'id'>]>) =>
  db
    .insertInto('messages')
    .values(
      Object.fromEntries(INSERTED_FIELDS.map((field, i) => [field, values[i]])) as Omit<MessageRow, 'id'>,
    )
    .returning('id'),
)
const byClientId = prepared((db, senderId: number, clientMsgId: string) =>
  db
    .selectFrom('messages')
    .select(MESSAGE_COLUMNS)
    .where('messages.sender_id', '=', senderId)
    .where('messages.client_msg_id', '=', clientMsgId),
)
const byId = prepared((db, id: number) =>
  db.selectFrom('messages').select(MESSAGE_COLUMNS).where('messages.id', '=', id),
)

export class MessageRepository {
  constructor(private readonly db: Executor) {}

  async insert(message: Omit<MessageRow, 'id'>): Promise<MessageRow> {
    const [row] = (await insertMessage(this.db, ...INSERTED_FIELDS.map((field) => message[field]))).rows
    if (!row) throw new Error('insert into messages returned no id')
    return { ...message, id: Number(row.id) }
  }

  async findById(id: number): Promise<MessageRow | undefined> {
    return (await byId(this.db, id)).rows[0]
  }

  findByIds(ids: readonly number[]): Promise<MessageRow[]> {
    return inChunks([...new Set(ids)], (chunk) =>
      this.db.selectFrom('messages').select(MESSAGE_COLUMNS).where('messages.id', 'in', chunk).execute(),
    )
  }

  /** The id of the message at a chat's per-chat `seq` (receipts name a seq; Pusher events name a message). */
  async idAtSeq(chatId: number, seq: number): Promise<number | null> {
    const row = await this.db
      .selectFrom('messages')
      .select('id')
      .where('chat_id', '=', chatId)
      .where('seq', '=', seq)
      .executeTakeFirst()
    return row ? Number(row.id) : null
  }

  async findByClientId(senderId: number, clientMsgId: string): Promise<MessageRow | undefined> {
    return (await byClientId(this.db, senderId, clientMsgId)).rows[0]
  }

  /**
   * A page of a chat's history as `viewerId` sees it (messages they hid are left out), by per-chat seq:
   * `before` → newest first below it, `after` → oldest first above it. Keyset only.
   */
  page(input: {
    chatId: number
    viewerId: number
    direction: 'before' | 'after'
    seq: number
    limit: number
    /** Rows to pass over first (seed 002's page numbers); keyset paging leaves it 0. */
    offset?: number
  }): Promise<MessageRow[]> {
    const query = this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('messages.chat_id', '=', input.chatId)
      .where('messages.seq', input.direction === 'before' ? '<' : '>', input.seq)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('message_hidden')
              .select('message_hidden.message_id')
              .whereRef('message_hidden.message_id', '=', 'messages.id')
              .where('message_hidden.user_id', '=', input.viewerId),
          ),
        ),
      )
      .orderBy('messages.seq', input.direction === 'before' ? 'desc' : 'asc')
      .limit(input.limit)
    return (input.offset ? query.offset(input.offset) : query).execute()
  }

  isHiddenFor(messageId: number, userId: number): Promise<boolean> {
    return this.db
      .selectFrom('message_hidden')
      .select('message_id')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
      .then((row) => row !== undefined)
  }

  async hideFor(messageId: number, userIds: readonly number[], now: number): Promise<void> {
    await eachChunk(userIds, (chunk) =>
      this.db
        .insertInto('message_hidden')
        .values(chunk.map((userId) => ({ user_id: userId, message_id: messageId, created_at: now })))
        .onConflict((oc) => oc.columns(['user_id', 'message_id']).doNothing())
        .execute(),
    )
  }

  /** Users who hid the message (deleted it for themselves, or blocked its sender before it arrived). */
  async hiddenFrom(messageId: number): Promise<Set<number>> {
    const rows = await this.db
      .selectFrom('message_hidden')
      .select('user_id')
      .where('message_id', '=', messageId)
      .execute()
    return new Set(rows.map((row) => Number(row.user_id)))
  }

  /**
   * Replaces a message's content, keeping the previous one as an earlier version. Answers false, and
   * changes nothing, if the message was deleted meanwhile.
   */
  async edit(message: Pick<MessageRow, 'id' | 'content'>, content: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('messages')
      .set({ content, edited_at: now })
      .where('id', '=', message.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) return false
    await this.db
      .insertInto('message_edits')
      .values({ message_id: message.id, content: message.content, created_at: now })
      .execute()
    return true
  }

  /** The ids of the messages that reply to (quote) a message. */
  async replyIdsTo(messageId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('messages')
      .select('id')
      .where('reply_to_message_id', '=', messageId)
      .execute()
    return rows.map((row) => Number(row.id))
  }

  /** Earlier versions of a message, oldest first; `created_at` is when each was replaced. */
  editsOf(messageId: number): Promise<Array<{ content: string | null; created_at: number }>> {
    return this.db
      .selectFrom('message_edits')
      .select(['content', 'created_at'])
      .where('message_id', '=', messageId)
      .orderBy('id')
      .execute()
  }

  /**
   * Deletes a message for everyone: keeps the row as a placeholder (seq, sender, time) and removes what
   * it said — content, payload, earlier versions and reactions. Answers false if it was deleted already.
   */
  async deleteForEveryone(messageId: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('messages')
      .set({ deleted_at: now, content: null, payload: null })
      .where('id', '=', messageId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) return false
    await this.db.deleteFrom('message_edits').where('message_id', '=', messageId).execute()
    await this.db.deleteFrom('reactions').where('message_id', '=', messageId).execute()
    return true
  }

  /**
   * Takes the message's row lock until the transaction ends (a no-op write; SQLite's single writer
   * serialises anyway). Changes that then read the message's aggregated reactions to put them in an
   * update (PostgreSQL, READ COMMITTED) run one after another, so the last update in every member's
   * log carries the summary that includes every committed reaction.
   */
  async lockRow(messageId: number): Promise<void> {
    await this.db
      .updateTable('messages')
      .set((eb) => ({ edited_at: eb.ref('messages.edited_at') }))
      .where('messages.id', '=', messageId)
      .execute()
  }

  /** One reaction per user, message and emoji; answers whether it was new. */
  async addReaction(messageId: number, userId: number, emoji: string, now: number): Promise<boolean> {
    await this.lockRow(messageId)
    const row = await this.db
      .insertInto('reactions')
      .values({ message_id: messageId, user_id: userId, emoji, created_at: now })
      .onConflict((oc) => oc.columns(['message_id', 'user_id', 'emoji']).doNothing())
      .returning('message_id')
      .executeTakeFirst()
    return row !== undefined
  }

  /** Answers whether there was such a reaction. */
  async removeReaction(messageId: number, userId: number, emoji: string): Promise<boolean> {
    await this.lockRow(messageId)
    const result = await this.db
      .deleteFrom('reactions')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .where('emoji', '=', emoji)
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  /** Reactions of many messages; each message's in the order they were made. */
  reactionsOf(messageIds: readonly number[]) {
    return inChunks([...new Set(messageIds)], (chunk) =>
      this.db
        .selectFrom('reactions')
        .select(['message_id', 'user_id', 'emoji', 'created_at'])
        .where('message_id', 'in', chunk)
        .orderBy('created_at')
        .execute(),
    )
  }

  /** The newest message of each chat that `viewerId` has not hidden, in one query. */
  lastVisibleOf(chatIds: readonly number[], viewerId: number): Promise<MessageRow[]> {
    return inChunks([...new Set(chatIds)], (chunk) =>
      this.db
        .selectFrom('messages')
        .select(MESSAGE_COLUMNS)
        .where('messages.chat_id', 'in', chunk)
        .where(
          'messages.seq',
          '=',
          sql<number>`(select max(m2.seq) from messages m2 where m2.chat_id = messages.chat_id and not exists (select 1 from message_hidden h where h.message_id = m2.id and h.user_id = ${viewerId}))`,
        )
        .execute(),
    )
  }

  /** Unread messages per chat for `viewerId`: after their read watermark, from others, not hidden. */
  async unreadCounts(chatIds: readonly number[], viewerId: number): Promise<Map<number, number>> {
    const rows = await inChunks([...new Set(chatIds)], (chunk) =>
      this.db
        .selectFrom('messages')
        .innerJoin('chat_members', (join) =>
          join
            .onRef('chat_members.chat_id', '=', 'messages.chat_id')
            .on('chat_members.user_id', '=', viewerId),
        )
        .select(['messages.chat_id', (eb) => eb.fn.countAll<number>().as('count')])
        .where('messages.chat_id', 'in', chunk)
        .whereRef('messages.seq', '>', 'chat_members.read_seq')
        .where((eb) =>
          eb.or([eb('messages.sender_id', '!=', viewerId), eb('messages.sender_id', 'is', null)]),
        )
        .where('messages.message_type', '!=', 'system')
        .where('messages.deleted_at', 'is', null)
        .where(
          sql<SqlBool>`not exists (select 1 from message_hidden h where h.message_id = messages.id and h.user_id = ${viewerId})`,
        )
        .groupBy('messages.chat_id')
        .execute(),
    )
    return new Map(rows.map((row) => [Number(row.chat_id), Number(row.count)]))
  }
}
