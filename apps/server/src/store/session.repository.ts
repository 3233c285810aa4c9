import type { Executor } from './db.ts'
import type { SessionRow } from './schema.ts'

const SESSION_COLUMNS = [
  'id',
  'user_id',
  'device_name',
  'ip',
  'user_agent',
  'created_at',
  'last_active_at',
  'expires_at',
  'revoked_at',
] as const

/** Rows per multi-row INSERT: far below SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_BATCH = 500

export class SessionRepository {
  constructor(private readonly db: Executor) {}

  /** Inserts new sessions, many rows per statement (bulk seeding writes a thousand at once). */
  async createMany(sessions: ReadonlyArray<Omit<SessionRow, 'revoked_at'>>): Promise<void> {
    for (let start = 0; start < sessions.length; start += INSERT_BATCH) {
      await this.db
        .insertInto('sessions')
        .values(
          sessions.slice(start, start + INSERT_BATCH).map((session) => ({ ...session, revoked_at: null })),
        )
        .execute()
    }
  }

  findLive(id: string, now: number): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('sessions')
      .select(SESSION_COLUMNS)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst()
  }

  listLive(userId: number, now: number): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .select(SESSION_COLUMNS)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('last_active_at', 'desc')
      .orderBy('id')
      .execute()
  }

  async touch(id: string, now: number, ip: string | null): Promise<void> {
    await this.db.updateTable('sessions').set({ last_active_at: now, ip }).where('id', '=', id).execute()
  }

  async extend(id: string, now: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ last_active_at: now, expires_at: expiresAt })
      .where('id', '=', id)
      .execute()
  }

  /** Revokes one session of one user; answers whether it was live (so other users' ids reveal nothing). */
  async revoke(id: string, userId: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async addRefreshToken(sessionId: string, tokenHash: string, now: number): Promise<void> {
    await this.addRefreshTokens([{ sessionId, tokenHash }], now)
  }

  async addRefreshTokens(
    tokens: ReadonlyArray<{ sessionId: string; tokenHash: string }>,
    now: number,
  ): Promise<void> {
    for (let start = 0; start < tokens.length; start += INSERT_BATCH) {
      await this.db
        .insertInto('refresh_tokens')
        .values(
          tokens.slice(start, start + INSERT_BATCH).map((token) => ({
            token_hash: token.tokenHash,
            session_id: token.sessionId,
            created_at: now,
            used_at: null,
          })),
        )
        .execute()
    }
  }

  findRefreshToken(tokenHash: string) {
    return this.db
      .selectFrom('refresh_tokens')
      .select(['token_hash', 'session_id', 'used_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst()
  }

  /** Marks a refresh token used; false when another request used it first (a race is a reuse). */
  async useRefreshToken(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async revokeById(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute()
  }
}
