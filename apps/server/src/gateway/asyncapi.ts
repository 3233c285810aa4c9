import {
  AckFrame,
  CLOSE_CODES,
  EventFrame,
  HelloFrame,
  PingFrame,
  PongFrame,
  ReadyFrame,
  ReplyErrorFrame,
  ReplyOkFrame,
  ResyncRequiredFrame,
  SOCKET_REQUEST_OPS,
  SOCKET_REQUESTS,
  TypingStartFrame,
  TypingStopFrame,
  UpdateFrame,
} from '@parley/protocol'
import type { TSchema } from '@sinclair/typebox'

/** A TypeBox schema as plain JSON Schema (its symbol keys dropped). */
const json = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema))
/** AsyncAPI component keys allow no `:`. */
const key = (name: string) => name.replaceAll(':', '.')

interface MessageSpec {
  name: string
  summary: string
  payload: TSchema
}

const CLIENT: MessageSpec[] = [
  { name: 'hello', summary: 'Authenticate and resume after `since` (the first frame).', payload: HelloFrame },
  { name: 'ack', summary: 'This device has everything up to `seq`.', payload: AckFrame },
  { name: 'ping', summary: 'Application keep-alive; answered with pong.', payload: PingFrame },
  { name: 'typing:start', summary: 'You are typing in a chat (no reply).', payload: TypingStartFrame },
  { name: 'typing:stop', summary: 'You stopped typing (no reply).', payload: TypingStopFrame },
  ...SOCKET_REQUEST_OPS.map((op) => ({
    name: op,
    summary: `${SOCKET_REQUESTS[op].summary}. REST twin: ${SOCKET_REQUESTS[op].rest}.`,
    payload: SOCKET_REQUESTS[op].frame,
  })),
]

const SERVER: MessageSpec[] = [
  { name: 'ready', summary: 'Authenticated; catch-up follows.', payload: ReadyFrame },
  { name: 'update', summary: "One entry of the user's update log, in seq order.", payload: UpdateFrame },
  {
    name: 'resync_required',
    summary: 'The cursor cannot be served: reload over REST.',
    payload: ResyncRequiredFrame,
  },
  {
    name: 'event',
    summary: 'An ephemeral event (typing, presence): no seq, never logged.',
    payload: EventFrame,
  },
  { name: 'pong', summary: 'The answer to ping.', payload: PongFrame },
  {
    name: 'reply_ok',
    summary: "A request's answer; `data` as the request op declares.",
    payload: ReplyOkFrame,
  },
  {
    name: 'reply_error',
    summary: "A request's coded error (the REST error codes).",
    payload: ReplyErrorFrame,
  },
]

const channel = { $ref: '#/channels/ws' }
const messageRef = (name: string) => ({ $ref: `#/channels/ws/messages/${key(name)}` })
const replies = [messageRef('reply_ok'), messageRef('reply_error')]

/**
 * The AsyncAPI 3.0 description of `/ws`, generated from the protocol schemas (served at
 * /asyncapi.json; the committed copy docs/api/asyncapi.json is checked by a test).
 */
export function asyncApiDocument() {
  const all = [...CLIENT, ...SERVER]
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley WebSocket API',
      version: '0.1.0',
      description:
        'The `/ws` gateway: one socket per device carries the update log live, answers requests and carries ephemeral events. Prose: docs/api/websocket.md. Close codes: `x-close-codes` (4000–4499 reconnect and resume, 4500–4999 terminal).',
    },
    defaultContentType: 'application/json',
    channels: {
      ws: {
        address: '/ws',
        title: 'The device socket',
        messages: Object.fromEntries(
          all.map((m) => [key(m.name), { $ref: `#/components/messages/${key(m.name)}` }]),
        ),
      },
    },
    operations: {
      ...Object.fromEntries(
        CLIENT.map((m) => [
          `send.${key(m.name)}`,
          {
            action: 'send',
            channel,
            summary: m.summary,
            messages: [messageRef(m.name)],
            ...(SOCKET_REQUEST_OPS.includes(m.name as (typeof SOCKET_REQUEST_OPS)[number])
              ? { reply: { channel, messages: replies } }
              : {}),
          },
        ]),
      ),
      ...Object.fromEntries(
        SERVER.map((m) => [
          `receive.${key(m.name)}`,
          { action: 'receive', channel, summary: m.summary, messages: [messageRef(m.name)] },
        ]),
      ),
    },
    components: {
      messages: Object.fromEntries(
        all.map((m) => [key(m.name), { name: m.name, summary: m.summary, payload: json(m.payload) }]),
      ),
    },
    'x-close-codes': Object.values(CLOSE_CODES).map(({ code, reason, kind, description }) => ({
      code,
      reason,
      kind,
      description,
    })),
  }
}
