import type { Executor } from './db.ts'
import type { OtpCodeRow } from './schema.ts'

export class OtpRepository {
  constructor(private readonly db: Executor) {}

  async create(code: Omit<OtpCodeRow, 'id' | 'attempts' | 'consumed_at'>): Promise<void> {
    await this.db
      .insertInto('otp_codes')
      .values({ ...code, attempts: 0, consumed_at: null })
      .execute()
  }

  /** Sends to this number since `since`, oldest first (their times tell when the window frees up). */
  sentSince(phoneNumber: string, since: number): Promise<Array<{ created_at: number }>> {
    return this.db
      .selectFrom('otp_codes')
      .select('created_at')
      .where('phone_number', '=', phoneNumber)
      .where('created_at', '>', since)
      .orderBy('created_at')
      .execute()
  }

  /** Only the newest unused code of a number can be used; a new send retires the older ones. */
  async retireUnused(phoneNumber: string, now: number): Promise<void> {
    await this.db
      .updateTable('otp_codes')
      .set({ consumed_at: now })
      .where('phone_number', '=', phoneNumber)
      .where('consumed_at', 'is', null)
      .execute()
  }

  findNewestUnused(phoneNumber: string): Promise<OtpCodeRow | undefined> {
    return this.db
      .selectFrom('otp_codes')
      .selectAll()
      .where('phone_number', '=', phoneNumber)
      .where('consumed_at', 'is', null)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()
  }

  /**
   * Takes one attempt before the code is compared, atomically, so parallel guesses cannot exceed the
   * limit. False when the code has no attempts left or was used meanwhile.
   */
  async reserveAttempt(id: number, maxAttempts: number): Promise<boolean> {
    const result = await this.db
      .updateTable('otp_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('attempts', '<', maxAttempts)
      .where('consumed_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /** Marks the code used; false if another request used it first. */
  async consume(id: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('otp_codes')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async deleteUnsent(phoneNumber: string, createdAt: number): Promise<void> {
    await this.db
      .deleteFrom('otp_codes')
      .where('phone_number', '=', phoneNumber)
      .where('created_at', '=', createdAt)
      .where('consumed_at', 'is', null)
      .execute()
  }
}
