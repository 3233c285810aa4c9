import type { Executor } from './db.ts'
import type { ChatMemberRow, ChatRow } from './schema.ts'

export const CHAT_COLUMNS = [
  'id',
  'type',
  'name',
  'description',
  'avatar_url',
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

export class ChatRepository {
  constructor(private readonly db: Executor) {}

  findById(id: number): Promise<ChatRow | undefined> {
    return this.db.selectFrom('chats').select(CHAT_COLUMNS).where('id', '=', id).executeTakeFirst()
  }

  findByIds(ids: readonly number[]): Promise<ChatRow[]> {
    if (ids.length === 0) return Promise.resolve([])
    return this.db
      .selectFrom('chats')
      .select(CHAT_COLUMNS)
      .where('id', 'in', [...new Set(ids)])
      .execute()
  }

  findPrivate(a: number, b: number): Promise<ChatRow | undefined> {
    return this.db
      .selectFrom('chats')
      .select(CHAT_COLUMNS)
      .where('private_pair', '=', privatePair(a, b))
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
    if (members.length === 0) return
    await this.db
      .insertInto('chat_members')
      .values(
        members.map(({ userId, role }) => ({
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
      .execute()
  }

  /** The membership of a current member; former members get undefined. */
  findActiveMember(chatId: number, userId: number): Promise<ChatMemberRow | undefined> {
    return this.db
      .selectFrom('chat_members')
      .select(MEMBER_COLUMNS)
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .executeTakeFirst()
  }

  activeMembers(chatId: number): Promise<ChatMemberRow[]> {
    return this.db
      .selectFrom('chat_members')
      .select(MEMBER_COLUMNS)
      .where('chat_id', '=', chatId)
      .where('left_at', 'is', null)
      .orderBy('joined_at')
      .orderBy('user_id')
      .execute()
  }

  /** Current members of many chats, in one query. */
  activeMembersOf(chatIds: readonly number[]): Promise<ChatMemberRow[]> {
    if (chatIds.length === 0) return Promise.resolve([])
    return this.db
      .selectFrom('chat_members')
      .select(MEMBER_COLUMNS)
      .where('chat_id', 'in', [...new Set(chatIds)])
      .where('left_at', 'is', null)
      .execute()
  }

  /**
   * Takes the chat's next message seq. The row update also serialises concurrent sends to one chat on
   * PostgreSQL, so per-chat seq order is commit order (DESIGN §3.6).
   */
  async nextSeq(chatId: number, now: number): Promise<number> {
    const row = await this.db
      .updateTable('chats')
      .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_activity_at: now }))
      .where('id', '=', chatId)
      .returning('last_seq')
      .executeTakeFirstOrThrow()
    return Number(row.last_seq)
  }

  /** Moves a member's read watermark forward only; answers the row when it moved. */
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
    await this.db
      .updateTable('chat_members')
      .set({ delivered_seq: seq, delivered_at: now })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .where('delivered_seq', '<', seq)
      .execute()
    return true
  }

  /** Moves a member's delivered watermark forward only; answers whether it moved. */
  async advanceDelivered(chatId: number, userId: number, seq: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('chat_members')
      .set({ delivered_seq: seq, delivered_at: now })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .where('delivered_seq', '<', seq)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }
}
