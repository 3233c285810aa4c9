import { type Static, type TProperties, Type } from '@sinclair/typebox'
import { ERROR_CODES } from './errors.ts'
import { ChatParams } from './schemas/chats.ts'
import { Id, Timestamp } from './schemas/common.ts'
import {
  ClientMsgId,
  DeleteScope,
  EditMessageBody,
  MessageParams,
  MessageResponse,
  ReactionBody,
  ReactionParams,
  ReactionResponse,
  ReadBody,
  ReadResponse,
  SendMessageBody,
} from './schemas/messages.ts'
import { Update } from './schemas/updates.ts'

/**
 * The `/ws` protocol (docs/api/websocket.md, docs/api/asyncapi.json): every frame either side may
 * send, the ephemeral event union, the reply data of each request, and the close codes. The server
 * validates against these schemas and builds its AsyncAPI document from them; the SDK derives its
 * types from them.
 */

const strict = { additionalProperties: false } as const
/** Seqs and cursors: integers a JavaScript number holds exactly. */
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
export const RequestId = Type.String({ minLength: 1, maxLength: 64 })

// ── client → server ─────────────────────────────────────────────────────────────────────────────

export const HelloFrame = Type.Object(
  { op: Type.Literal('hello'), token: Type.String({ minLength: 1, maxLength: 4096 }), since: Seq },
  strict,
)
export type HelloFrame = Static<typeof HelloFrame>
export const AckFrame = Type.Object({ op: Type.Literal('ack'), seq: Seq }, strict)
export type AckFrame = Static<typeof AckFrame>
export const PingFrame = Type.Object({ op: Type.Literal('ping') }, strict)
/** Ephemeral, no `id` and no reply: forwarded to the chat's other members as an `event`. */
export const TypingStartFrame = Type.Object({ op: Type.Literal('typing:start'), chat_id: Id }, strict)
export const TypingStopFrame = Type.Object({ op: Type.Literal('typing:stop'), chat_id: Id }, strict)
export type TypingFrame = Static<typeof TypingStartFrame> | Static<typeof TypingStopFrame>

/**
 * A request frame is the REST body of its twin plus the ids its REST path carries, built from the very
 * schema objects the REST route validates with, and as strict: one schema per operation on both
 * transports.
 */
const request = <Op extends string, P extends TProperties>(op: Op, properties: P) =>
  Type.Object({ op: Type.Literal(op), id: RequestId, ...properties }, strict)

const chatId = ChatParams.properties.id
const messageId = MessageParams.properties.id

/** Every request op: its frame, the `data` of its `ok` reply, and its REST twin. */
export const SOCKET_REQUESTS = {
  'message:send': {
    // The socket is for Parley's own clients: `client_msg_id` stays required here.
    frame: request('message:send', {
      chat_id: chatId,
      ...SendMessageBody.properties,
      client_msg_id: ClientMsgId,
    }),
    data: Type.Object({ message: MessageResponse.properties.message, created: Type.Boolean() }),
    rest: 'POST /api/chats/:id/messages',
    summary: 'Send a message (idempotent on client_msg_id: a retry answers created: false)',
  },
  'message:edit': {
    frame: request('message:edit', { message_id: messageId, ...EditMessageBody.properties }),
    data: Type.Object({ message: MessageResponse.properties.message }),
    rest: 'PUT /api/messages/:id',
    summary: 'Edit a message you sent',
  },
  'message:delete': {
    // On the socket `for` still defaults to `me` (REST's default follows seed 002: see DeleteMessageQuery).
    frame: request('message:delete', {
      message_id: messageId,
      for: Type.Optional(Type.Union(DeleteScope.anyOf, { default: 'me' })),
    }),
    data: Type.Object({}, strict),
    rest: 'DELETE /api/messages/:id',
    summary: 'Delete a message for everyone or for yourself (default me)',
  },
  'message:read': {
    frame: request('message:read', { chat_id: chatId, ...ReadBody.properties }),
    data: Type.Object({
      read_seq: ReadResponse.properties.read_seq,
      read_at: ReadResponse.properties.read_at,
    }),
    rest: 'PUT /api/chats/:id/read',
    summary: 'Mark the chat read up to a message',
  },
  'reaction:add': {
    frame: request('reaction:add', { message_id: messageId, ...ReactionBody.properties }),
    data: Type.Object({ reaction: ReactionResponse.properties.reaction }),
    rest: 'POST /api/messages/:id/reactions',
    summary: 'React to a message with an emoji',
  },
  'reaction:remove': {
    frame: request('reaction:remove', {
      message_id: ReactionParams.properties.id,
      emoji: ReactionParams.properties.emoji,
    }),
    data: Type.Object({ reaction: ReactionResponse.properties.reaction }),
    rest: 'DELETE /api/messages/:id/reactions/:emoji',
    summary: 'Take back your reaction',
  },
} as const

export type SocketRequestOp = keyof typeof SOCKET_REQUESTS
export const SOCKET_REQUEST_OPS = Object.keys(SOCKET_REQUESTS) as SocketRequestOp[]
type RequestSpec<K extends SocketRequestOp> = (typeof SOCKET_REQUESTS)[K]
/** A request frame of one op, as sent. */
export type RequestFrameOf<K extends SocketRequestOp> = Static<RequestSpec<K>['frame']>
export type RequestFrame = { [K in SocketRequestOp]: RequestFrameOf<K> }[SocketRequestOp]
/** Each op's frame fields (without `op` and `id`) and its reply's `data`. */
export type SocketRequests = {
  [K in SocketRequestOp]: {
    fields: Omit<RequestFrameOf<K>, 'op' | 'id'>
    data: Static<RequestSpec<K>['data']>
  }
}

/** Every frame a client may send. */
export const ClientFrame = Type.Union([
  HelloFrame,
  AckFrame,
  PingFrame,
  TypingStartFrame,
  TypingStopFrame,
  ...SOCKET_REQUEST_OPS.map((op) => SOCKET_REQUESTS[op].frame),
])

// ── ephemeral events ────────────────────────────────────────────────────────────────────────────

const event = <K extends string, D extends TProperties>(type: K, data: D) =>
  Type.Object({ type: Type.Literal(type), data: Type.Object(data) })

/**
 * Events that travel over the bus only: no seq, never logged, dropped for users with no open socket
 * (DESIGN §3.7). Typing and presence now; calls and stories join this union.
 */
export const EphemeralEvent = Type.Union([
  event('typing:start', { chat_id: Id, user_id: Id }),
  event('typing:stop', { chat_id: Id, user_id: Id }),
  event('presence:online', { user_id: Id }),
  event('presence:offline', { user_id: Id, last_seen_at: Timestamp }),
])
export type EphemeralEvent = Static<typeof EphemeralEvent>
export type EphemeralEventType = EphemeralEvent['type']
export type EphemeralEventData<T extends EphemeralEventType> = Extract<EphemeralEvent, { type: T }>['data']
export const EPHEMERAL_EVENT_TYPES = EphemeralEvent.anyOf.map(
  (member) => member.properties.type.const,
) as EphemeralEventType[]

// ── server → client ─────────────────────────────────────────────────────────────────────────────

export const ReadyFrame = Type.Object({ op: Type.Literal('ready'), seq: Seq, session_id: Type.String() })
export type ReadyFrame = Static<typeof ReadyFrame>
export const UpdateFrame = Type.Intersect([Type.Object({ op: Type.Literal('update') }), Update])
export type UpdateFrame = Static<typeof UpdateFrame>
export const ResyncRequiredFrame = Type.Object({ op: Type.Literal('resync_required'), current_seq: Seq })
export const EventFrame = Type.Intersect([Type.Object({ op: Type.Literal('event') }), EphemeralEvent])
export type EventFrame = Static<typeof EventFrame>
export const PongFrame = Type.Object({ op: Type.Literal('pong') })
export const ErrorCodeSchema = Type.Union(ERROR_CODES.map((code) => Type.Literal(code)))
export const ReplyError = Type.Object({
  code: ErrorCodeSchema,
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
})
export const ReplyOkFrame = Type.Object({
  op: Type.Literal('reply'),
  id: RequestId,
  ok: Type.Literal(true),
  data: Type.Union(SOCKET_REQUEST_OPS.map((op) => SOCKET_REQUESTS[op].data)),
})
export const ReplyErrorFrame = Type.Object({
  op: Type.Literal('reply'),
  id: RequestId,
  ok: Type.Literal(false),
  error: ReplyError,
})
export type ReplyErrorFrame = Static<typeof ReplyErrorFrame>

/** Every frame the server may send. */
export const ServerFrame = Type.Union([
  ReadyFrame,
  UpdateFrame,
  ResyncRequiredFrame,
  EventFrame,
  PongFrame,
  ReplyOkFrame,
  ReplyErrorFrame,
])
export type ServerFrame = Static<typeof ServerFrame>
