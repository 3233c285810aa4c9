import { type Static, Type } from '@sinclair/typebox'
import { DisplayName, Id, Timestamp } from './common.ts'

/**
 * Seeds signed-in users for load tests (`bench/`). Each user gets a username `<name_prefix>_<10 hex>`
 * and one session, exactly as a sign-in would open it.
 */
export const SeedUsersBody = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: 1000 }),
    name_prefix: Type.Optional(
      Type.String({ minLength: 1, maxLength: 20, pattern: '^[a-z0-9_]+$', default: 'bench' }),
    ),
    device_name: Type.Optional(DisplayName({ maxLength: 100 })),
    /** Lifetime of the access tokens issued here (refreshed tokens get the server's default). */
    access_token_ttl_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
  },
  { additionalProperties: false },
)
export type SeedUsersBody = Static<typeof SeedUsersBody>

export const SeededUser = Type.Object({
  id: Id,
  username: Type.String(),
  display_name: Type.String(),
  session_id: Type.String(),
  access_token: Type.String(),
  refresh_token: Type.String(),
  /** When the access token expires. */
  expires_at: Timestamp,
})
export type SeededUser = Static<typeof SeededUser>

export const SeedUsersResponse = Type.Object({ success: Type.Literal(true), users: Type.Array(SeededUser) })
export type SeedUsersResponse = Static<typeof SeedUsersResponse>
