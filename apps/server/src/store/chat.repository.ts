import { type SqlBool, sql } from 'kysely'
import { eachChunk, inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import { prepared } from './prepared.ts'
import type { ChatMemberRow, ChatRow } from './schema.ts'

/** Where a chat sits in a member's chat list: `group` 0 = pinned, 1 = not; `time` pinned or activity time. */
export interface ChatListKey {
  group: number
  time: number
  id: number
}

export const CHAT_COLUMNS = [
  'id',
  'type',
  'name',
  'description',
  'avatar_url',
  'avatar_attachment_id',
  'created_by',
  'private_pair',
  'last_seq',
  'last_activity_at',
  'created_at',
  'updated_at',
] as const

export const MEMBER_COLUMNS = [
  'chat_id',
  'user_id',
  'role',
  'joined_at',
  'left_at',
  'muted_until',
  'pinned_at',
  'archived_at',
  'delivered_seq',
  'delivered_at',
  'read_seq',
  'read_at',
] as const

/** "low:high": the key that makes a pair's private chat unique. */
export const privatePair = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`)

// The queries of every send and acknowledgement, compiled once (store/prepared.ts).
const chatById = prepared((db, id: number) =>
  db.selectFrom('chats').select(CHAT_COLUMNS).where('id', '=', id),
)
const activeMember = prepared((db, chatId: number, userId: number) =>
  db
    .selectFrom('chat_members')
    .select(MEMBER_COLUMNS)
    .where('chat_id', '=', chatId)
    .where('user_id', '=', userId)
    .where('left_at', 'is', null),
)
const activeMembersOfChat = prepared((db, chatId: number) =>
  db
    .selectFrom('chat_members')
    .select(MEMBER_COLUMNS)
    .where('chat_id', '=', chatId)
    .where('left_at', 'is', null)
    .orderBy('joined_at')
    .orderBy('user_id'),
)
const activeIds = prepared((db, chatId: number) =>
  db.selectFrom('chat_members').select('user_id').where('chat_id', '=', chatId).where('left_at', 'is', null),
)
const membersAmong = prepared((db, chatId: number, ...userIds: number[]) =>
  db
    .selectFrom('chat_members')
    .select(MEMBER_COLUMNS)
    .where('chat_id', '=', chatId)
    .where('user_id', 'in', userIds),
)
const bumpSeq = prepared((db, chatId: number, now: number) =>
  db
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_activity_at: now }))
    .where('id', '=', chatId)
    .returning('last_seq'),
)
const raiseDelivered = prepared((db, chatId: number, userId: number, seq: number, now: number) =>
  db
    .updateTable('chat_members')
    .set({ delivered_seq: seq, delivered_at: now })
    .where('chat_id', '=', chatId)
    .where('user_id', '=', userId)
    .where('delivered_seq', '<', seq),
)

export class ChatRepository {
  constructor(private readonly db: Executor) {}

  async findById(id: number): Promise<ChatRow | undefined> {
    return (await chatById(this.db, id)).rows[0]
  }

  findByIds(ids: readonly number[]): Promise<ChatRow[]> {
    return inChunks([...new Set(ids)], (chunk) =>
      this.db.selectFrom('chats').select(CHAT_COLUMNS).where('id', 'in', chunk).execute(),
    )
  }

  findPrivate(a: number, b: number): Promise<ChatRow | undefined> {
    return this.db
      .selectFrom('chats')
      .select(CHAT_COLUMNS)
      .where('private_pair', '=', privatePair(a, b))
      .executeTakeFirst()
  }

  /**
   * One page of the chat list of `userId` (current memberships only), in one query. Order: pinned
   * chats first, most recently pinned first; then the others by last activity; ties by chat id, all
   * descending. `after` is the sort key of the previous page's last row (keyset; no OFFSET).
   * Archived chats are listed only when `archived` is true, and only they are. A private chat shows
   * once it has a message the user can see, or when the user opened it; a group shows always.
   */
  /**
   * The chats of a member's list (current membership, the archive or not, and a private chat opened
   * by the other side only once it holds a message the member can see), before order and paging.
   */
  private memberChats(userId: number, archived: boolean) {
    return this.db
      .selectFrom('chat_members')
      .innerJoin('chats', 'chats.id', 'chat_members.chat_id')
      .where('chat_members.user_id', '=', userId)
      .where('chat_members.left_at', 'is', null)
      .where('chat_members.archived_at', archived ? 'is not' : 'is', null)
      .where((eb) =>
        eb.or([
          eb('chats.type', '=', 'group'),
          eb('chats.created_by', '=', userId),
          eb.exists(
            eb
              .selectFrom('messages')
              .select('messages.id')
              .whereRef('messages.chat_id', '=', 'chats.id')
              .where(
                sql<SqlBool>`not exists (select 1 from message_hidden h where h.message_id = messages.id and h.user_id = ${userId})`,
              ),
          ),
        ]),
      )
  }

  /** How many chats `listForMember` pages through (seed 002's `total_items`). */
  async countForMember(input: { userId: number; archived: boolean }): Promise<number> {
    const row = await this.memberChats(input.userId, input.archived)
      .select((eb) => eb.fn.countAll<number | string>().as('total'))
      .executeTakeFirst()
    return Number(row?.total ?? 0)
  }

  listForMember(input: {
    userId: number
    archived: boolean
    after: ChatListKey | null
    limit: number
    /** Rows to pass over first (seed 002's page numbers); cursor paging leaves it 0. */
    offset?: number
  }): Promise<Array<{ chat: ChatRow; key: ChatListKey }>> {
    const { userId, after } = input
    const group = sql<number>`(case when chat_members.pinned_at is null then 1 else 0 end)`
    const time = sql<number>`coalesce(chat_members.pinned_at, chats.last_activity_at)`
    let query = this.memberChats(userId, input.archived)
      .select(CHAT_COLUMNS.map((column) => `chats.${column}` as const))
      .select([group.as('sort_group'), time.as('sort_time')])
    if (after) {
      query = query.where(
        sql<SqlBool>`(${group} > ${after.group} or (${group} = ${after.group} and (${time} < ${after.time} or (${time} = ${after.time} and chats.id < ${after.id}))))`,
      )
    }
    query = query.orderBy(group).orderBy(time, 'desc').orderBy('chats.id', 'desc').limit(input.limit)
    if (input.offset) query = query.offset(input.offset)
    return query.execute().then((rows) =>
      rows.map(({ sort_group, sort_time, ...chat }) => ({
        chat,
        key: { group: Number(sort_group), time: Number(sort_time), id: chat.id },
      })),
    )
  }

  /**
   * Writes a member's own settings (`undefined` leaves one as it is) and answers the row as it is now.
   * Pinning an already pinned chat keeps its place (its `pinned_at`); likewise for archiving.
   */
  async updateSettings(
    chatId: number,
    userId: number,
    settings: { mutedUntil?: number | null; pinned?: boolean; archived?: boolean },
    now: number,
  ): Promise<ChatMemberRow | undefined> {
    const keepOr = (column: 'pinned_at' | 'archived_at', on: boolean | undefined) =>
      on === undefined
        ? sql<number | null>`${sql.ref(column)}`
        : on
          ? sql<number>`coalesce(${sql.ref(column)}, ${now})`
          : null
    return this.db
      .updateTable('chat_members')
      .set({
        ...(settings.mutedUntil === undefined ? {} : { muted_until: settings.mutedUntil }),
        pinned_at: keepOr('pinned_at', settings.pinned),
        archived_at: keepOr('archived_at', settings.archived),
      })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .returning(MEMBER_COLUMNS)
      .executeTakeFirst()
  }

  async create(chat: Omit<ChatRow, 'id' | 'last_seq'>): Promise<ChatRow> {
    const { id } = await this.db
      .insertInto('chats')
      .values({ ...chat, last_seq: 0 })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { ...chat, id, last_seq: 0 }
  }

  async addMembers(
    chatId: number,
    members: ReadonlyArray<{ userId: number; role: 'admin' | 'member' }>,
    now: number,
  ): Promise<void> {
    await eachChunk(members, (chunk) =>
      this.db
        .insertInto('chat_members')
        .values(
          chunk.map(({ userId, role }) => ({
            chat_id: chatId,
            user_id: userId,
            role,
            joined_at: now,
            left_at: null,
            muted_until: null,
            pinned_at: null,
            archived_at: null,
            delivered_seq: 0,
            delivered_at: null,
            read_seq: 0,
            read_at: null,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['chat_id', 'user_id']).doUpdateSet({ left_at: null, role: 'member', joined_at: now }),
        )
        .execute(),
    )
  }

  /** The membership of a current member; former members get undefined. */
  async findActiveMember(chatId: number, userId: number): Promise<ChatMemberRow | undefined> {
    return (await activeMember(this.db, chatId, userId)).rows[0]
  }

  async activeMembers(chatId: number): Promise<ChatMemberRow[]> {
    return (await activeMembersOfChat(this.db, chatId)).rows
  }

  /** The other current member of each private chat `userId` is a current member of, in one query. */
  async privatePartnersOf(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('chat_members as own')
      .innerJoin('chats', 'chats.id', 'own.chat_id')
      .innerJoin('chat_members as other', 'other.chat_id', 'own.chat_id')
      .select('other.user_id')
      .where('own.user_id', '=', userId)
      .where('own.left_at', 'is', null)
      .where('chats.type', '=', 'private')
      .where('other.user_id', '!=', userId)
      .where('other.left_at', 'is', null)
      .execute()
    return rows.map((row) => Number(row.user_id))
  }

  /** The ids of the chat's current members (a big group's rows are not built when ids will do). */
  async activeMemberIds(chatId: number): Promise<number[]> {
    return (await activeIds(this.db, chatId)).rows.map((row) => Number(row.user_id))
  }

  /** Which of `userIds` are current members of the chat. */
  async activeMembersAmong(chatId: number, userIds: readonly number[]): Promise<ChatMemberRow[]> {
    return (await this.membershipsOf(chatId, userIds)).filter((member) => member.left_at === null)
  }

  /** Current members of many chats, in one query. */
  activeMembersOf(chatIds: readonly number[]): Promise<ChatMemberRow[]> {
    return inChunks([...new Set(chatIds)], (chunk) =>
      this.db
        .selectFrom('chat_members')
        .select(MEMBER_COLUMNS)
        .where('chat_id', 'in', chunk)
        .where('left_at', 'is', null)
        .execute(),
    )
  }

  /**
   * Takes the chat's next message seq. The row update also serialises concurrent sends to one chat on
   * PostgreSQL, so per-chat seq order is commit order (DESIGN §3.6).
   */
  async nextSeq(chatId: number, now: number): Promise<number> {
    const [row] = (await bumpSeq(this.db, chatId, now)).rows
    if (!row) throw new Error(`chat ${chatId} does not exist`)
    return Number(row.last_seq)
  }

  /**
   * Re-reads a chat while taking its row's write lock (PostgreSQL; SQLite has one writer anyway), so
   * membership changes of one chat, and sends to it, run one after another. Call it first in the
   * transaction, before reading the members.
   */
  lockForChange(chatId: number): Promise<ChatRow | undefined> {
    return this.db
      .updateTable('chats')
      .set((eb) => ({ last_seq: eb.ref('last_seq') }))
      .where('id', '=', chatId)
      .returning(CHAT_COLUMNS)
      .executeTakeFirst()
  }

  /** Changes a group's name and/or description. */
  async updateInfo(
    chatId: number,
    changes: {
      name?: string
      description?: string | null
      avatar_url?: string | null
      avatar_attachment_id?: number | null
    },
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('chats')
      .set({ ...changes, updated_at: now })
      .where('id', '=', chatId)
      .execute()
  }

  /** Current and former memberships of `userIds` in a chat (former ones have `left_at` set). */
  async membershipsOf(chatId: number, userIds: readonly number[]): Promise<ChatMemberRow[]> {
    return inChunks(
      [...new Set(userIds)],
      async (chunk) => (await membersAmong(this.db, chatId, ...chunk)).rows,
    )
  }

  /** Ends current memberships: the users stop seeing the chat (history included) and its updates. */
  async markLeft(chatId: number, userIds: readonly number[], now: number): Promise<void> {
    await eachChunk([...new Set(userIds)], (chunk) =>
      this.db
        .updateTable('chat_members')
        .set({ left_at: now })
        .where('chat_id', '=', chatId)
        .where('user_id', 'in', chunk)
        .where('left_at', 'is', null)
        .execute(),
    )
  }

  async setRole(chatId: number, userId: number, role: 'admin' | 'member'): Promise<void> {
    await this.db
      .updateTable('chat_members')
      .set({ role })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .execute()
  }

  /**
   * Starts joining members' receipt watermarks at `seq` (never moving one back): history from before
   * they joined is neither unread for them nor waiting on them in the senders' ticks.
   */
  async startWatermarks(chatId: number, userIds: readonly number[], seq: number, now: number): Promise<void> {
    if (seq === 0) return
    await eachChunk([...new Set(userIds)], async (ids) => {
      await this.db
        .updateTable('chat_members')
        .set({ read_seq: seq, read_at: now })
        .where('chat_id', '=', chatId)
        .where('user_id', 'in', ids)
        .where('read_seq', '<', seq)
        .execute()
      await this.db
        .updateTable('chat_members')
        .set({ delivered_seq: seq, delivered_at: now })
        .where('chat_id', '=', chatId)
        .where('user_id', 'in', ids)
        .where('delivered_seq', '<', seq)
        .execute()
    })
  }

  /** Moves a member's read watermark (and so the delivered one) forward only; answers whether it moved. */
  async advanceRead(chatId: number, userId: number, seq: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('chat_members')
      .set({ read_seq: seq, read_at: now })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .where('read_seq', '<', seq)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) return false
    // What has been read has been delivered.
    await this.advanceDelivered(chatId, userId, seq, now)
    return true
  }

  /** `userId`'s current memberships among `chatIds`, in one query. */
  activeMembershipsOf(userId: number, chatIds: readonly number[]): Promise<ChatMemberRow[]> {
    return inChunks([...new Set(chatIds)], (chunk) =>
      this.db
        .selectFrom('chat_members')
        .select(MEMBER_COLUMNS)
        .where('user_id', '=', userId)
        .where('chat_id', 'in', chunk)
        .where('left_at', 'is', null)
        .execute(),
    )
  }

  /** Moves a member's delivered watermark forward only; answers whether it moved. */
  async advanceDelivered(chatId: number, userId: number, seq: number, now: number): Promise<boolean> {
    const result = await raiseDelivered(this.db, chatId, userId, seq, now)
    return Number(result.numAffectedRows ?? 0) > 0
  }
}
