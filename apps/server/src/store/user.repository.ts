import type { Executor } from './db.ts'
import type { NewUser, UserRow } from './schema.ts'

export const USER_COLUMNS = [
  'id',
  'phone_number',
  'username',
  'name',
  'about',
  'avatar_url',
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
    if (ids.length === 0) return Promise.resolve([])
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('id', 'in', [...new Set(ids)])
      .where('deleted_at', 'is', null)
      .execute()
  }

  findByPhone(phoneNumber: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('phone_number', '=', phoneNumber)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
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

  /** Updates only the given columns. */
  async update(
    id: number,
    changes: Partial<
      Pick<
        UserRow,
        | 'name'
        | 'about'
        | 'avatar_url'
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
