import { type Static, Type } from '@sinclair/typebox'
import { Id, Nullable, NullableTimestamp, PageNumber, PageNumbers, Timestamp } from './common.ts'
import { Message } from './messages.ts'

export const ChatType = Type.Union([Type.Literal('private'), Type.Literal('group')])
export const MemberRole = Type.Union([Type.Literal('admin'), Type.Literal('member')])
export type MemberRole = Static<typeof MemberRole>

export const CreateChatBody = Type.Object(
  { type: Type.Literal('private'), user_id: Id },
  { additionalProperties: false },
)

/** The other person of a private chat, with presence fields as their privacy allows. */
export const ChatParticipant = Type.Object({
  id: Id,
  name: Type.String(),
  username: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  last_seen_at: NullableTimestamp,
  is_online: Type.Boolean(),
})

/** A chat as one member sees it (seed 002 list shape plus the member's own settings). */
export const Chat = Type.Object({
  id: Id,
  type: ChatType,
  name: Nullable(Type.String()),
  description: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  participant: Nullable(ChatParticipant),
  participants_count: Type.Integer(),
  role: MemberRole,
  last_message: Nullable(Message),
  unread_count: Type.Integer(),
  muted_until: NullableTimestamp,
  pinned: Type.Boolean(),
  archived: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
})
export type Chat = Static<typeof Chat>

export const ChatResponse = Type.Object({ success: Type.Literal(true), chat: Chat })

/** `cursor` (Parley) or `page` (seed 002), not both. */
export const ChatListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    page: Type.Optional(PageNumber),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type ChatListQuery = Static<typeof ChatListQuery>

export const ChatListResponse = Type.Object({
  success: Type.Literal(true),
  chats: Type.Array(Chat),
  pagination: Type.Object({
    next_cursor: Nullable(Type.String()),
    has_more: Type.Boolean(),
    ...PageNumbers,
  }),
})
export type ChatListResponse = Static<typeof ChatListResponse>

export const ChatSettingsBody = Type.Object(
  {
    muted_until: Type.Optional(Nullable(Timestamp)),
    pinned: Type.Optional(Type.Boolean()),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type ChatSettingsBody = Static<typeof ChatSettingsBody>

export const ChatParams = Type.Object({ id: Id }, { additionalProperties: false })
