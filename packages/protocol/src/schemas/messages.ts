import { type Static, Type } from '@sinclair/typebox'
import {
  DisplayName,
  Id,
  NAME_PATTERN,
  Nullable,
  NullableTimestamp,
  PageNumber,
  Timestamp,
} from './common.ts'
import { Attachment, AttachmentIdList } from './media.ts'

export const MAX_TEXT_LENGTH = 10_000

/**
 * Message types that carry media: each needs at least one attachment of its own kind (an `image` or
 * `video` message may be an album of up to 10 images and videos; the others carry exactly one).
 */
export const MEDIA_MESSAGE_TYPES = ['image', 'video', 'audio', 'voice', 'document', 'gif', 'sticker'] as const
export type MediaMessageType = (typeof MEDIA_MESSAGE_TYPES)[number]
/** What a client may send; `system` is server-made. */
export const SENDABLE_MESSAGE_TYPES = ['text', 'location', 'contact', ...MEDIA_MESSAGE_TYPES] as const
export type SendableMessageType = (typeof SENDABLE_MESSAGE_TYPES)[number]
export const SendableMessageTypeSchema = Type.Union(SENDABLE_MESSAGE_TYPES.map((type) => Type.Literal(type)))

export const MessageType = Type.Union([
  ...SENDABLE_MESSAGE_TYPES.map((type) => Type.Literal(type)),
  Type.Literal('system'),
])
export type MessageType = Static<typeof MessageType>

export const isMediaMessageType = (type: string): type is MediaMessageType =>
  (MEDIA_MESSAGE_TYPES as readonly string[]).includes(type)

export const Location = Type.Object(
  {
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
    longitude: Type.Number({ minimum: -180, maximum: 180 }),
    /** A place name: refused like any name (controls, bidi overrides, nothing visible). */
    name: Type.Optional(DisplayName({ maxLength: 255 })),
  },
  { additionalProperties: false },
)
export type Location = Static<typeof Location>

export const SharedContact = Type.Object(
  {
    name: DisplayName({ maxLength: 255 }),
    phone_number: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: NAME_PATTERN })),
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
 * an optional caption; `location` / `contact` carry those kinds; `attachment_ids` (media types only)
 * names ready uploads of yours (docs/api/media.md). `client_msg_id` makes retries safe; a REST send
 * without one (seed 002's examples) gets a server-assigned id and is not protected against retries.
 * The socket's `message:send` requires it.
 */
export const SendMessageBody = Type.Object(
  {
    message_type: SendableMessageTypeSchema,
    content: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
    attachment_ids: Type.Optional(AttachmentIdList),
    client_msg_id: Type.Optional(ClientMsgId),
    reply_to_message_id: Type.Optional(Nullable(Id)),
    location: Type.Optional(Location),
    contact: Type.Optional(SharedContact),
  },
  { additionalProperties: false },
)
export type SendMessageBody = Static<typeof SendMessageBody>

export const MediaMessageTypeSchema = Type.Union(MEDIA_MESSAGE_TYPES.map((type) => Type.Literal(type)))

/** A file part of a multipart form, as OpenAPI describes it. */
export const FilePart = Type.String({ format: 'binary' })

/**
 * `POST /api/chats/:id/messages` as multipart/form-data (seed 002 "Send Media Message"): one `file`
 * part, or several for an album (up to 10 images/videos), each checked and processed as it arrives;
 * `caption` becomes the message's `content`. Any other field is refused. Documents the form only: the
 * parts are read and checked as a stream (docs/api/media.md).
 */
export const SendMediaForm = Type.Object(
  {
    message_type: MediaMessageTypeSchema,
    file: Type.Array(FilePart, { minItems: 1, maxItems: 10 }),
    caption: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
    client_msg_id: Type.Optional(ClientMsgId),
    reply_to_message_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)

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
  /** The quoted message's first attachment's thumbnail, if it has one. */
  thumbnail_url: Nullable(Type.String()),
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
 * `attachments` is the media in order (empty for other types and once deleted); `media_url`,
 * `thumbnail_url` and `media_size` are seed 002's fields: the first attachment's, else null.
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
  attachments: Type.Array(Attachment),
  media_url: Nullable(Type.String()),
  thumbnail_url: Nullable(Type.String()),
  media_size: Nullable(Type.Integer({ minimum: 0 })),
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

/**
 * `page` (seed 002) counts pages of `limit` back from the anchor (or from the newest message): page 2
 * is the page before page 1. Only with no anchor or with `before_message_id`.
 */
export const HistoryQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    page: Type.Optional(PageNumber),
    before_message_id: Type.Optional(Id),
    after_message_id: Type.Optional(Id),
    around_message_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)
export type HistoryQuery = Static<typeof HistoryQuery>

/**
 * A history entry: the message plus, for the viewer (seed 002), `delivered_at` / `read_at`. On your own
 * message: when it had reached / been read by every other member; on another's: when it reached you
 * / you read it. The times are the watermarks' (when they last moved), so at or after the moment
 * itself; null until then.
 */
export const HistoryMessage = Type.Object({
  ...Message.properties,
  delivered_at: NullableTimestamp,
  read_at: NullableTimestamp,
})
export type HistoryMessage = Static<typeof HistoryMessage>

export const HistoryResponse = Type.Object({
  success: Type.Literal(true),
  messages: Type.Array(HistoryMessage),
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

/** `/api/messages/:id` routes. */
export const MessageParams = Type.Object({ id: Id }, { additionalProperties: false })

/** `GET /api/messages/:id/edits`: one earlier version; `edited_at` is when it was replaced. */
export const MessageEdit = Type.Object({ content: Nullable(Type.String()), edited_at: Timestamp })
export type MessageEdit = Static<typeof MessageEdit>
export const MessageEditsResponse = Type.Object({
  success: Type.Literal(true),
  edits: Type.Array(MessageEdit),
})

export const DeleteScope = Type.Union([Type.Literal('everyone'), Type.Literal('me')])

/**
 * `DELETE /api/messages/:id?for=everyone|me`. Without `for` (seed 002's request): for everyone when it
 * is your own message, for you otherwise.
 */
export const DeleteMessageQuery = Type.Object(
  { for: Type.Optional(DeleteScope) },
  { additionalProperties: false },
)
export type DeleteMessageQuery = Static<typeof DeleteMessageQuery>

export const MAX_FORWARD_CHATS = 20

/** `POST /api/messages/:id/forward`: chats to send a copy to (each must be one of yours). */
export const ForwardMessageBody = Type.Object(
  { chat_ids: Type.Array(Id, { minItems: 1, maxItems: MAX_FORWARD_CHATS, uniqueItems: true }) },
  { additionalProperties: false },
)
export type ForwardMessageBody = Static<typeof ForwardMessageBody>
export const ForwardMessageResponse = Type.Object({
  success: Type.Literal(true),
  messages: Type.Array(Message),
})

export const MAX_EMOJI_LENGTH = 16

/** One emoji (a single pictograph, flag, keycap or ZWJ sequence, with modifiers), no spaces. */
export const Emoji = Type.String({ minLength: 1, maxLength: MAX_EMOJI_LENGTH })
export const ReactionBody = Type.Object({ emoji: Emoji }, { additionalProperties: false })
export type ReactionBody = Static<typeof ReactionBody>
/** `DELETE /api/messages/:id/reactions/:emoji` (the emoji URL-encoded). */
export const ReactionParams = Type.Object({ id: Id, emoji: Emoji }, { additionalProperties: false })

/** seed 002: the message's count for that emoji after the change. */
export const ReactionResponse = Type.Object({
  success: Type.Literal(true),
  reaction: Type.Object({ message_id: Id, emoji: Type.String(), count: Type.Integer({ minimum: 0 }) }),
})

/**
 * `GET /api/messages/:id/receipts`: one entry per other current member. The times are the member's
 * watermark times: when their delivered / read watermark last moved, which is at or after it reached
 * this message (receipts are watermarks, not rows per message).
 */
export const MessageReceipt = Type.Object({
  user: Type.Object({ id: Id, name: Type.String() }),
  delivered_at: NullableTimestamp,
  read_at: NullableTimestamp,
})
export type MessageReceipt = Static<typeof MessageReceipt>
export const ReceiptsResponse = Type.Object({
  success: Type.Literal(true),
  receipts: Type.Array(MessageReceipt),
})
