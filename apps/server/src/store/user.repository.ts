import { type SqlBool, sql } from 'kysely'
import { inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import type { NewUser, UserRow } from './schema.ts'

export const USER_COLUMNS = [
  'id',
  'phone_number',
  'username',
  'name',
  'about',
  'avatar_url',
  'avatar_attachment_id',
  'privacy_last_seen',
  'privacy_profile_photo',
  'privacy_about',
  'last_seen_at',
  'phone_verified_at',
  'created_at',
  'updated_at',
  'deleted_at',
] as const
export type User = Omit<UserRow, 'password_hash'>

export const DEFAULT_ABOUT = 'Hey there! I am using Parley.'

/** A new account's row: the given identity and name, everything else at its sign-up default. */
export function newUserRow(
  identity: Pick<NewUser, 'phone_number' | 'username' | 'password_hash' | 'name' | 'phone_verified_at'>,
  now: number,
): NewUser {
  return {
    ...identity,
    about: DEFAULT_ABOUT,
    avatar_url: null,
    avatar_attachment_id: null,
    privacy_last_seen: 'everyone',
    privacy_profile_photo: 'everyone',
    privacy_about: 'everyone',
    last_seen_at: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  }
}

/** Rows per multi-row INSERT (15 columns each): far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 500

export class UserRepository {
  constructor(private readonly db: Executor) {}

  findById(id: number): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
  }

  findByIds(ids: readonly number[]): Promise<User[]> {
    return inChunks([...new Set(ids)], (chunk) =>
      this.db
        .selectFrom('users')
        .select(USER_COLUMNS)
        .where('id', 'in', chunk)
        .where('deleted_at', 'is', null)
        .execute(),
    )
  }

  findByPhone(phoneNumber: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('phone_number', '=', phoneNumber)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
  }

  findByUsername(username: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('username', '=', username.toLowerCase())
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
  }

  /**
   * One page of a user search, in id order after `afterId` (keyset, no OFFSET): username or name
   * starting with `prefix` (case-insensitive; LIKE wildcards in it match literally), or the exact
   * `phoneNumber` when given. Leaves out `viewerId` and every user who blocked the viewer. Returns up
   * to `limit` rows; ask for one more than the page size to learn whether there is a next page.
   */
  search(input: {
    viewerId: number
    prefix: string
    phoneNumber: string | null
    afterId: number | null
    limit: number
  }): Promise<User[]> {
    const pattern = `${escapeLike(input.prefix.toLowerCase())}%`
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('deleted_at', 'is', null)
      .where('id', '!=', input.viewerId)
      .$if(input.afterId !== null, (qb) => qb.where('id', '>', input.afterId ?? 0))
      .where(({ or, eb }) =>
        or([
          // Usernames are stored lower-cased; names go through the lower(name) index.
          sql<SqlBool>`users.username like ${pattern} escape ${LIKE_ESCAPE}`,
          sql<SqlBool>`lower(users.name) like ${pattern} escape ${LIKE_ESCAPE}`,
          ...(input.phoneNumber === null ? [] : [eb('phone_number', '=', input.phoneNumber)]),
        ]),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('blocks')
              .select('blocks.user_id')
              .whereRef('blocks.user_id', '=', 'users.id')
              .where('blocks.blocked_user_id', '=', input.viewerId),
          ),
        ),
      )
      .orderBy('id')
      .limit(input.limit)
      .execute()
  }

  findCredentials(username: string) {
    return this.db
      .selectFrom('users')
      .select([...USER_COLUMNS, 'password_hash'])
      .where('username', '=', username.toLowerCase())
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
  }

  async create(user: NewUser): Promise<User> {
    const { id } = await this.db.insertInto('users').values(user).returning('id').executeTakeFirstOrThrow()
    const created = await this.findById(id)
    if (!created) throw new Error(`user ${id} vanished after insert`)
    return created
  }

  /**
   * Inserts users with usernames in bulk, many rows per statement. A row whose username is already
   * taken is skipped, not an error: it is missing from the answer, so the caller can retry it under
   * another name. Answers the ids of the inserted rows by username (RETURNING order is not promised).
   */
  async createManySkippingTakenUsernames(
    users: ReadonlyArray<NewUser & { username: string }>,
  ): Promise<Map<string, number>> {
    const ids = new Map<string, number>()
    for (let start = 0; start < users.length; start += INSERT_BATCH) {
      const rows = await this.db
        .insertInto('users')
        .values(users.slice(start, start + INSERT_BATCH))
        .onConflict((oc) => oc.column('username').doNothing())
        .returning(['id', 'username'])
        .execute()
      for (const row of rows) if (row.username !== null) ids.set(row.username, row.id)
    }
    return ids
  }

  /** Updates only the given columns. */
  async update(
    id: number,
    changes: Partial<
      Pick<
        UserRow,
        | 'name'
        | 'about'
        | 'avatar_url'
        | 'avatar_attachment_id'
        | 'privacy_last_seen'
        | 'privacy_profile_photo'
        | 'privacy_about'
        | 'last_seen_at'
        | 'phone_verified_at'
        | 'updated_at'
      >
    >,
  ): Promise<void> {
    await this.db.updateTable('users').set(changes).where('id', '=', id).execute()
  }
}

const LIKE_ESCAPE = '\\'

/** Makes `%`, `_` and the escape character itself match literally in a LIKE pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
