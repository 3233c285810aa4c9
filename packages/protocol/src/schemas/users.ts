import { type Static, Type } from '@sinclair/typebox'
import {
  CursorPage,
  DisplayName,
  Id,
  Nullable,
  NullableTimestamp,
  PlainText,
  Timestamp,
  Visibility,
} from './common.ts'

export const PrivacySettings = Type.Object({
  last_seen: Visibility,
  profile_photo: Visibility,
  about: Visibility,
})
export type PrivacySettings = Static<typeof PrivacySettings>
export type VisibilityValue = Static<typeof Visibility>

/** The signed-in user's own profile: nothing hidden. */
export const OwnProfile = Type.Object({
  id: Id,
  phone_number: Nullable(Type.String()),
  username: Nullable(Type.String()),
  name: Type.String(),
  avatar_url: Nullable(Type.String()),
  about: Type.String(),
  privacy_settings: PrivacySettings,
  last_seen_at: NullableTimestamp,
  is_online: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
})
export type OwnProfile = Static<typeof OwnProfile>

/**
 * Another user as the viewer may see them: fields the target's privacy settings hide from this viewer
 * are null (and `is_online` false), exactly as if they were unset.
 */
export const PublicUser = Type.Object({
  id: Id,
  username: Nullable(Type.String()),
  name: Type.String(),
  phone_number: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  about: Nullable(Type.String()),
  last_seen_at: NullableTimestamp,
  is_online: Type.Boolean(),
  is_contact: Type.Boolean(),
  is_blocked: Type.Boolean(),
})
export type PublicUser = Static<typeof PublicUser>

export const UserSummary = Type.Object({
  id: Id,
  username: Nullable(Type.String()),
  name: Type.String(),
  avatar_url: Nullable(Type.String()),
})
export type UserSummary = Static<typeof UserSummary>

export const ProfileResponse = Type.Object({ success: Type.Literal(true), user: OwnProfile })

/**
 * `GET /api/user/profile`: the profile under `user` (Parley's shape, as every answer names its
 * resource) and, for seed 002 clients, the same fields again at the top level.
 */
export const OwnProfileResponse = Type.Object({
  success: Type.Literal(true),
  user: OwnProfile,
  ...OwnProfile.properties,
})
export type OwnProfileResponse = Static<typeof OwnProfileResponse>

export const UpdateProfileBody = Type.Object(
  {
    name: Type.Optional(DisplayName({ maxLength: 100 })),
    about: Type.Optional(PlainText({ maxLength: 500 })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateProfileBody = Static<typeof UpdateProfileBody>

export const UpdatePrivacyBody = Type.Object(
  {
    last_seen: Type.Optional(Visibility),
    profile_photo: Type.Optional(Visibility),
    about: Type.Optional(Visibility),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdatePrivacyBody = Static<typeof UpdatePrivacyBody>

export const PrivacyResponse = Type.Object({ success: Type.Literal(true), privacy_settings: PrivacySettings })

export const UserResponse = Type.Object({ success: Type.Literal(true), user: PublicUser })

/** `/api/users/:id`: the target user's id. */
export const UserParams = Type.Object({ id: Id }, { additionalProperties: false })
export type UserParams = Static<typeof UserParams>

/**
 * Username prefix or name prefix (case-insensitive), or an exact phone number in international form.
 * `cursor` is the opaque `pagination.next_cursor` of the previous page.
 */
export const UserSearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 100 }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type UserSearchQuery = Static<typeof UserSearchQuery>

export const UserSearchResponse = Type.Object({
  success: Type.Literal(true),
  users: Type.Array(PublicUser),
  pagination: CursorPage,
})

/** `POST /api/user/avatar` (seed 002 "Upload Avatar"): one image in the `avatar` part. */
export const AvatarForm = Type.Object(
  { avatar: Type.String({ format: 'binary' }) },
  { additionalProperties: false },
)

/**
 * The new avatar's stable URL (`/api/media/{id}/avatar_300`; `avatar_150` / `avatar_600` name the
 * other sizes), or null once removed.
 */
export const AvatarResponse = Type.Object({
  success: Type.Literal(true),
  avatar_url: Nullable(Type.String()),
})
export type AvatarResponse = Static<typeof AvatarResponse>
