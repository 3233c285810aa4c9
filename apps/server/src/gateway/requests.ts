import {
  type RequestFrameOf,
  SOCKET_REQUEST_OPS,
  SOCKET_REQUESTS,
  type SocketRequestOp,
  type SocketRequests,
} from '@parley/protocol'
import type { ValidateFunction } from 'ajv'
import { chatForMember, messageForMember } from '../access/chats.ts'
import { deleteMessage, editMessage } from '../actions/message-ops.ts'
import { markRead, sendMessage } from '../actions/messages.ts'
import { addReaction, removeReaction } from '../actions/reactions.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { iso } from '../presenters/time.ts'
import { compileFrame } from './frames.ts'

type Handler<K extends SocketRequestOp> = (
  deps: Deps,
  userId: number,
  frame: RequestFrameOf<K>,
) => Promise<SocketRequests[K]['data']>

/**
 * Each request op's handler: the same access check and the same action as its REST twin (the routes
 * in http/routes/messages.routes.ts and message-ops.routes.ts), then the reply data the protocol
 * declares for it.
 */
const HANDLERS: { [K in SocketRequestOp]: Handler<K> } = {
  'message:send': async (deps, userId, { op: _op, id: _id, chat_id, ...body }) => {
    const { chat } = await chatForMember(deps, userId, chat_id)
    return sendMessage(deps, { actorId: userId, chat, body })
  },
  'message:edit': async (deps, userId, frame) => {
    const { chat, message } = await messageForMember(deps, userId, frame.message_id)
    return { message: await editMessage(deps, { actorId: userId, chat, message, content: frame.content }) }
  },
  'message:delete': async (deps, userId, frame) => {
    const { chat, member, message } = await messageForMember(deps, userId, frame.message_id)
    await deleteMessage(deps, { actorId: userId, chat, member, message, scope: frame.for ?? 'me' })
    return {}
  },
  'message:read': async (deps, userId, frame) => {
    const { chat, member, message } = await messageForMember(deps, userId, frame.message_id)
    if (chat.id !== frame.chat_id) throw errors.notFound('Message')
    const { readSeq, readAt } = await markRead(deps, { actorId: userId, chat, member, message })
    return { read_seq: readSeq, read_at: iso(readAt) }
  },
  'reaction:add': async (deps, userId, frame) => {
    const { chat, message } = await messageForMember(deps, userId, frame.message_id)
    return { reaction: await addReaction(deps, { actorId: userId, chat, message, emoji: frame.emoji }) }
  },
  'reaction:remove': async (deps, userId, frame) => {
    const { chat, message } = await messageForMember(deps, userId, frame.message_id)
    return { reaction: await removeReaction(deps, { actorId: userId, chat, message, emoji: frame.emoji }) }
  },
}

/** One row of the request table: the op's compiled frame schema and its handler. */
export interface RequestRoute {
  op: SocketRequestOp
  check: ValidateFunction
  /** Runs a frame that passed `check`. */
  run(deps: Deps, userId: number, frame: unknown): Promise<SocketRequests[SocketRequestOp]['data']>
}

function route<K extends SocketRequestOp>(op: K): RequestRoute {
  const handler: Handler<K> = HANDLERS[op]
  return {
    op,
    check: compileFrame(SOCKET_REQUESTS[op].frame),
    run: (deps, userId, frame) => handler(deps, userId, frame as RequestFrameOf<K>),
  }
}

/**
 * The request table, op → route. A Map keyed by the protocol's ops: a look-up by a client's `op`
 * finds only those, never what Object.prototype holds (`__proto__`, `constructor`, `toString`).
 */
export const REQUEST_TABLE: ReadonlyMap<string, RequestRoute> = new Map(
  SOCKET_REQUEST_OPS.map((op) => [op, route(op)]),
)
