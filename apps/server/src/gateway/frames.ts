import { EditMessageBody, Emoji, Id, SendMessageBody } from '@parley/protocol'
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'

/** Client → server frames: the REST bodies' fields plus the ids the REST path carries. */
const RequestId = Type.String({ minLength: 1, maxLength: 64 })

export const HelloFrame = Type.Object({
  op: Type.Literal('hello'),
  token: Type.String({ minLength: 1, maxLength: 4096 }),
  since: Type.Integer({ minimum: 0 }),
})
export const AckFrame = Type.Object({ op: Type.Literal('ack'), seq: Type.Integer({ minimum: 0 }) })
export const PingFrame = Type.Object({ op: Type.Literal('ping') })
/** Ephemeral, no `id` and no reply: forwarded to the chat's other members as an `event`. */
export const TypingFrame = Type.Object({
  op: Type.Union([Type.Literal('typing:start'), Type.Literal('typing:stop')]),
  chat_id: Id,
})

export const SendFrame = Type.Composite([
  Type.Object({ op: Type.Literal('message:send'), id: RequestId, chat_id: Id }),
  SendMessageBody,
])
export const EditFrame = Type.Composite([
  Type.Object({ op: Type.Literal('message:edit'), id: RequestId, message_id: Id }),
  EditMessageBody,
])
export const DeleteFrame = Type.Object({
  op: Type.Literal('message:delete'),
  id: RequestId,
  message_id: Id,
  for: Type.Optional(Type.Union([Type.Literal('me'), Type.Literal('everyone')])),
})
export const ReadFrame = Type.Object({
  op: Type.Literal('message:read'),
  id: RequestId,
  chat_id: Id,
  message_id: Id,
})

export const ReactionAddFrame = Type.Object({
  op: Type.Literal('reaction:add'),
  id: RequestId,
  message_id: Id,
  emoji: Emoji,
})
export const ReactionRemoveFrame = Type.Object({
  op: Type.Literal('reaction:remove'),
  id: RequestId,
  message_id: Id,
  emoji: Emoji,
})

export const RequestFrame = Type.Union([
  SendFrame,
  EditFrame,
  DeleteFrame,
  ReadFrame,
  ReactionAddFrame,
  ReactionRemoveFrame,
])
export type RequestFrame = Static<typeof RequestFrame>

export const checkHello = TypeCompiler.Compile(HelloFrame)
export const checkAck = TypeCompiler.Compile(AckFrame)
export const checkPing = TypeCompiler.Compile(PingFrame)
export const checkTyping = TypeCompiler.Compile(TypingFrame)
export type RequestOp = RequestFrame['op']
/**
 * One checker per request op, so a bad frame's error names the right schema. A Map, not an object:
 * a look-up by a client's `op` must never find what Object.prototype holds (`__proto__`, `toString`).
 */
export const requestCheckers: ReadonlyMap<string, TypeCheck<TSchema>> = new Map<
  RequestOp,
  TypeCheck<TSchema>
>([
  ['message:send', TypeCompiler.Compile(SendFrame)],
  ['message:edit', TypeCompiler.Compile(EditFrame)],
  ['message:delete', TypeCompiler.Compile(DeleteFrame)],
  ['message:read', TypeCompiler.Compile(ReadFrame)],
  ['reaction:add', TypeCompiler.Compile(ReactionAddFrame)],
  ['reaction:remove', TypeCompiler.Compile(ReactionRemoveFrame)],
])
