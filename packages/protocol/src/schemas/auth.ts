import { type Static, Type } from '@sinclair/typebox'
import { DisplayName, Nullable, Timestamp } from './common.ts'
import { OwnProfile } from './users.ts'

const DeviceName = DisplayName({ maxLength: 100 })

export const SendOtpBody = Type.Object(
  {
    phone_number: Type.String({ minLength: 3, maxLength: 32 }),
    country_code: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{1,4}$' })),
  },
  { additionalProperties: false },
)
export type SendOtpBody = Static<typeof SendOtpBody>

export const SendOtpResponse = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
  expires_at: Timestamp,
})

export const VerifyOtpBody = Type.Object(
  {
    phone_number: Type.String({ minLength: 3, maxLength: 32 }),
    country_code: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{1,4}$' })),
    otp: Type.String({ pattern: '^[0-9]{6}$' }),
    device_name: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
)
export type VerifyOtpBody = Static<typeof VerifyOtpBody>

export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.]+$' })
/**
 * NIST SP 800-63B: length only (8 to 256), no composition rules; the server also refuses common and
 * breached passwords and ones equal to the username (`validation_error`, field `password`).
 */
export const Password = Type.String({ minLength: 8, maxLength: 256 })

export const RegisterBody = Type.Object(
  {
    username: Username,
    password: Password,
    name: DisplayName({ maxLength: 100 }),
    device_name: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
)
export type RegisterBody = Static<typeof RegisterBody>

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    device_name: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
)
export type LoginBody = Static<typeof LoginBody>

export const Tokens = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  expires_at: Timestamp,
  session_id: Type.String(),
})
export type Tokens = Static<typeof Tokens>

export const AuthResponse = Type.Object({ success: Type.Literal(true), user: OwnProfile, tokens: Tokens })
export type AuthResponse = Static<typeof AuthResponse>

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
)
export const RefreshResponse = Type.Object({
  success: Type.Literal(true),
  access_token: Type.String(),
  refresh_token: Type.String(),
  expires_at: Timestamp,
})
export type RefreshResponse = Static<typeof RefreshResponse>

export const Session = Type.Object({
  id: Type.String(),
  device_name: Type.String(),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  created_at: Timestamp,
  last_active_at: Timestamp,
  current: Type.Boolean(),
})
export type Session = Static<typeof Session>

export const SessionsResponse = Type.Object({ success: Type.Literal(true), sessions: Type.Array(Session) })
/** Session ids are UUIDs: anything else (a NUL byte included) never reaches the database. */
export const SessionParams = Type.Object(
  { id: Type.String({ format: 'uuid', maxLength: 36 }) },
  { additionalProperties: false },
)

/** Claims of an access token (seed 002 shape plus the session id). */
export interface AccessClaims {
  sub: string
  user_id: number
  sid: string
  phone_number: string | null
  type: 'access'
  iat: number
  exp: number
}
