import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { MemberRole } from './chats.ts'
import { Id, Nullable, NullableTimestamp, Timestamp } from './common.ts'
import { Message, ReactionSummary } from './messages.ts'

const update = <K extends string, D extends TSchema>(type: K, data: D) =>
  Type.Object({ seq: Type.Integer({ minimum: 1 }), type: Type.Literal(type), data })

/** A chat's shared facts, the same for every member (each member's own view comes from GET /api/chats/:id). */
export const ChatSnapshot = Type.Object({
  id: Id,
  type: Type.Union([Type.Literal('private'), Type.Literal('group')]),
  name: Nullable(Type.String()),
  description: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  created_by: Nullable(Id),
  members: Type.Array(Type.Object({ id: Id, role: MemberRole })),
  created_at: Timestamp,
})

/**
 * Every change a user must see, as appended to their update log and delivered by /api/sync and the
 * WebSocket. The server can only emit members of this union; clients narrow on `type`.
 */
export const Update = Type.Union([
  update('message:new', Type.Object({ chat_id: Id, message: Message })),
  update('message:edited', Type.Object({ chat_id: Id, message: Message })),
  update(
    'message:deleted',
    Type.Object({
      chat_id: Id,
      message_id: Id,
      for: Type.Union([Type.Literal('everyone'), Type.Literal('me')]),
    }),
  ),
  update(
    'message:reaction',
    Type.Object({
      chat_id: Id,
      message_id: Id,
      user_id: Id,
      emoji: Type.String(),
      action: Type.Union([Type.Literal('added'), Type.Literal('removed')]),
      reactions: Type.Array(ReactionSummary),
    }),
  ),
  update(
    'message:delivered',
    Type.Object({ chat_id: Id, user_id: Id, delivered_seq: Type.Integer(), delivered_at: Timestamp }),
  ),
  update(
    'message:read',
    Type.Object({ chat_id: Id, user_id: Id, read_seq: Type.Integer(), read_at: Timestamp }),
  ),
  update('chat:created', Type.Object({ chat: ChatSnapshot })),
  update('chat:updated', Type.Object({ chat: ChatSnapshot })),
  update(
    'chat:settings',
    Type.Object({
      chat_id: Id,
      muted_until: NullableTimestamp,
      pinned: Type.Boolean(),
      archived: Type.Boolean(),
    }),
  ),
  update('chat:member_added', Type.Object({ chat_id: Id, user_ids: Type.Array(Id), actor_id: Nullable(Id) })),
  update(
    'chat:member_removed',
    Type.Object({
      chat_id: Id,
      user_id: Id,
      actor_id: Nullable(Id),
      reason: Type.Union([Type.Literal('removed'), Type.Literal('left')]),
    }),
  ),
  update(
    'chat:member_role',
    Type.Object({ chat_id: Id, user_id: Id, role: MemberRole, actor_id: Nullable(Id) }),
  ),
])
export type Update = Static<typeof Update>
export type UpdateType = Update['type']
export type UpdateData<T extends UpdateType> = Extract<Update, { type: T }>['data']

export const SyncQuery = Type.Object(
  {
    since: Type.Integer({ minimum: 0 }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
    timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, default: 0 })),
  },
  { additionalProperties: false },
)

export const SyncResponse = Type.Union([
  Type.Object({
    success: Type.Literal(true),
    updates: Type.Array(Update),
    next_seq: Type.Integer(),
    has_more: Type.Boolean(),
  }),
  Type.Object({
    success: Type.Literal(true),
    resync_required: Type.Literal(true),
    /** The user's current seq: reload state over REST, then resume from here. */
    current_seq: Type.Integer(),
  }),
])
export type SyncResponse = Static<typeof SyncResponse>
