import { type Static, Type } from '@sinclair/typebox'
import { Id, Nullable, NullableTimestamp, Timestamp } from './common.ts'

export const MAX_TEXT_LENGTH = 10_000

/** Message kinds that exist now; the media kinds arrive with the media issue. `system` is server-made. */
export const MessageType = Type.Union([
  Type.Literal('text'),
  Type.Literal('location'),
  Type.Literal('contact'),
  Type.Literal('system'),
])
export type MessageType = Static<typeof MessageType>

export const Location = Type.Object(
  {
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
    longitude: Type.Number({ minimum: -180, maximum: 180 }),
    name: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type Location = Static<typeof Location>

export const SharedContact = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    phone_number: Type.Optional(Type.String({ maxLength: 32 })),
    user_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)
export type SharedContact = Static<typeof SharedContact>

/** What a system message says happened; clients render the words. */
export const SystemEvent = Type.Object({
  event: Type.Union([
    Type.Literal('group_created'),
    Type.Literal('members_added'),
    Type.Literal('member_removed'),
    Type.Literal('member_left'),
    Type.Literal('admin_promoted'),
    Type.Literal('admin_demoted'),
    Type.Literal('group_updated'),
  ]),
  actor_id: Nullable(Id),
  user_ids: Type.Array(Id),
})
export type SystemEvent = Static<typeof SystemEvent>

export const ClientMsgId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' })

/**
 * `POST /api/chats/:id/messages` and the socket's `message:send`. `content` is the text (text), or
 * an optional caption; `location` / `contact` carry the other kinds.
 */
export const SendMessageBody = Type.Object(
  {
    message_type: Type.Union([Type.Literal('text'), Type.Literal('location'), Type.Literal('contact')]),
    content: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
    client_msg_id: ClientMsgId,
    reply_to_message_id: Type.Optional(Nullable(Id)),
    location: Type.Optional(Location),
    contact: Type.Optional(SharedContact),
  },
  { additionalProperties: false },
)
export type SendMessageBody = Static<typeof SendMessageBody>

export const EditMessageBody = Type.Object(
  { content: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH }) },
  { additionalProperties: false },
)
export type EditMessageBody = Static<typeof EditMessageBody>

export const MessageSender = Type.Object({ id: Id, name: Type.String(), avatar_url: Nullable(Type.String()) })

export const ReplyPreview = Type.Object({
  id: Id,
  sender_id: Nullable(Id),
  message_type: MessageType,
  content: Nullable(Type.String()),
  deleted: Type.Boolean(),
})

export const ReactionSummary = Type.Object({
  emoji: Type.String(),
  count: Type.Integer(),
  users: Type.Array(Type.Object({ id: Id, name: Type.String() })),
})
export type ReactionSummary = Static<typeof ReactionSummary>

export const MessageStatus = Type.Union([
  Type.Literal('sent'),
  Type.Literal('delivered'),
  Type.Literal('read'),
])
export type MessageStatus = Static<typeof MessageStatus>

/**
 * A message as a member sees it (seed 002 shape). `status`, `delivered_count` and `read_count` are
 * derived from the other members' watermarks and given to the sender only (null for others).
 */
export const Message = Type.Object({
  id: Id,
  chat_id: Id,
  seq: Type.Integer({ minimum: 1 }),
  sender_id: Nullable(Id),
  sender: Nullable(MessageSender),
  client_msg_id: Nullable(Type.String()),
  message_type: MessageType,
  content: Nullable(Type.String()),
  location: Nullable(Location),
  contact: Nullable(SharedContact),
  system: Nullable(SystemEvent),
  reply_to_message_id: Nullable(Id),
  reply_to: Nullable(ReplyPreview),
  forwarded: Type.Boolean(),
  reactions: Type.Array(ReactionSummary),
  status: Nullable(MessageStatus),
  delivered_count: Nullable(Type.Integer()),
  read_count: Nullable(Type.Integer()),
  deleted: Type.Boolean(),
  sent_at: Timestamp,
  edited_at: NullableTimestamp,
})
export type Message = Static<typeof Message>

export const MessageResponse = Type.Object({ success: Type.Literal(true), message: Message })

export const HistoryQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    before_message_id: Type.Optional(Id),
    after_message_id: Type.Optional(Id),
    around_message_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)
export type HistoryQuery = Static<typeof HistoryQuery>

export const HistoryResponse = Type.Object({
  success: Type.Literal(true),
  messages: Type.Array(Message),
  pagination: Type.Object({
    has_more_before: Type.Boolean(),
    has_more_after: Type.Boolean(),
    /** seed 002 names: `has_more` answers "is there older history", with the id to pass next. */
    has_more: Type.Boolean(),
    next_before_message_id: Nullable(Id),
  }),
})

export const ReadBody = Type.Object({ message_id: Id }, { additionalProperties: false })
export const ReadResponse = Type.Object({
  success: Type.Literal(true),
  read_at: Timestamp,
  read_seq: Type.Integer(),
})
