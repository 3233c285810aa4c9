import { type Static, Type } from '@sinclair/typebox'
import { MemberRole } from './chats.ts'
import { DisplayName, Id, Nullable, PlainText, Timestamp } from './common.ts'

/**
 * Group chats (seed 002 "Group Chat APIs"). A group is a chat: its `id` works in every
 * `/api/chats/:id` route (messages, history, read, settings); these routes manage who is in it.
 */

export const GROUP_NAME_MAX = 100
/**
 * The largest group any server may be configured for (`PARLEY_MAX_GROUP_SIZE`, default 1,024, is at
 * most this): the static cap of every list of user ids. A list longer than the configured size is
 * refused by the server with `400 validation_error` before it looks a single id up.
 */
export const MAX_GROUP_SIZE_LIMIT = 10_000
export const GROUP_DESCRIPTION_MAX = 500

const GroupName = DisplayName({ maxLength: GROUP_NAME_MAX })
const GroupDescription = PlainText({ maxLength: GROUP_DESCRIPTION_MAX })
/** Enough for any configured group size; the configured limit is checked by the server. */
const UserIds = Type.Array(Id, { maxItems: MAX_GROUP_SIZE_LIMIT })

export const CreateGroupBody = Type.Object(
  {
    name: GroupName,
    description: Type.Optional(Nullable(GroupDescription)),
    /** User ids to add besides the creator, who becomes the group's admin. */
    participants: UserIds,
  },
  { additionalProperties: false },
)
export type CreateGroupBody = Static<typeof CreateGroupBody>

/**
 * `POST /api/groups` as multipart/form-data (seed 002 "Create Group"): the JSON body's fields as text,
 * `participants` as a JSON array (`[456, 789]`) or one field per id, and an optional `avatar` image.
 */
export const CreateGroupForm = Type.Object(
  {
    name: GroupName,
    description: Type.Optional(GroupDescription),
    participants: Type.Array(Type.String(), { maxItems: MAX_GROUP_SIZE_LIMIT }),
    avatar: Type.Optional(Type.String({ format: 'binary' })),
  },
  { additionalProperties: false },
)

/** `PUT /api/groups/:id/avatar`: one image in the `avatar` part. */
export const GroupAvatarForm = Type.Object(
  { avatar: Type.String({ format: 'binary' }) },
  { additionalProperties: false },
)

export const UpdateGroupBody = Type.Object(
  {
    name: Type.Optional(GroupName),
    /** `null` or `""` clears the description. */
    description: Type.Optional(Nullable(GroupDescription)),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateGroupBody = Static<typeof UpdateGroupBody>

export const AddMembersBody = Type.Object(
  { user_ids: Type.Array(Id, { minItems: 1, maxItems: MAX_GROUP_SIZE_LIMIT }) },
  {
    additionalProperties: false,
  },
)
export type AddMembersBody = Static<typeof AddMembersBody>

export const GroupParams = Type.Object({ id: Id }, { additionalProperties: false })
export const GroupMemberParams = Type.Object({ id: Id, user_id: Id }, { additionalProperties: false })

/** A group's shared facts (seed 002 create / update shape). */
export const Group = Type.Object({
  id: Id,
  name: Type.String(),
  description: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  created_by: Nullable(Id),
  participants_count: Type.Integer({ minimum: 0 }),
  created_at: Timestamp,
  updated_at: Timestamp,
})
export type Group = Static<typeof Group>

/** A current member as another member sees them: the avatar follows the member's privacy. */
export const GroupParticipant = Type.Object({
  id: Id,
  username: Nullable(Type.String()),
  name: Type.String(),
  avatar_url: Nullable(Type.String()),
  role: MemberRole,
  joined_at: Timestamp,
})
export type GroupParticipant = Static<typeof GroupParticipant>

/** Seed 002 "Get Group Info": participants in joining order (longest-standing first). */
export const GroupInfo = Type.Object({
  id: Id,
  name: Type.String(),
  description: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  created_by: Nullable(Type.Object({ id: Id, name: Type.String() })),
  participants_count: Type.Integer({ minimum: 0 }),
  participants: Type.Array(GroupParticipant),
  created_at: Timestamp,
  updated_at: Timestamp,
})
export type GroupInfo = Static<typeof GroupInfo>

/**
 * Why a user was not added. `not_allowed` covers every refusal about the user themselves (a block
 * included), so the answer never reveals which one applied.
 */
export const NotAddedReason = Type.Union([
  Type.Literal('not_found'),
  Type.Literal('already_member'),
  Type.Literal('not_allowed'),
])
export type NotAddedReason = Static<typeof NotAddedReason>

export const NotAdded = Type.Object({ id: Id, reason: NotAddedReason })
export type NotAdded = Static<typeof NotAdded>

export const CreateGroupResponse = Type.Object({
  success: Type.Literal(true),
  group: Group,
  /** Participants that were not added (unknown users, or users who cannot be added). */
  not_added: Type.Array(NotAdded),
})

export const GroupResponse = Type.Object({ success: Type.Literal(true), group: Group })
/** Under `group` (Parley) and, as seed 002 "Get Group Info" shows it, also at the top level. */
export const GroupInfoResponse = Type.Object({
  success: Type.Literal(true),
  group: GroupInfo,
  ...GroupInfo.properties,
})
export type GroupInfoResponse = Static<typeof GroupInfoResponse>

export const AddMembersResponse = Type.Object({
  success: Type.Literal(true),
  added_members: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  not_added: Type.Array(NotAdded),
})
export type AddMembersResponse = Static<typeof AddMembersResponse>

export const MemberRoleResponse = Type.Object({
  success: Type.Literal(true),
  member: Type.Object({ id: Id, role: MemberRole }),
})
export type MemberRoleResponse = Static<typeof MemberRoleResponse>
