import { CLOSE_CODES, ServerFrame, SOCKET_REQUEST_OPS } from '@parley/protocol'
import { FormatRegistry } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createUser, type TestUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/**
 * Property-based fuzzing of `/ws`: generated and mutated frames, before and after hello. Whatever
 * arrives, the server answers only with frames its protocol declares (validated against ServerFrame),
 * never `internal_error`, closes only with documented codes, and keeps serving other sockets.
 * Budget: PARLEY_FUZZ_RUNS runs per property (small here; `npm run fuzz` runs a long budget).
 */
const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 500)
const TIMEOUT_MS = Math.max(60_000, RUNS * 400)

if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)))

/** Close codes a client may see: the protocol's, plus the standard ones `ws` uses for a frame too big (1009) or not UTF-8 (1007). */
const DOCUMENTED_CLOSES = new Set<number>([
  ...Object.values(CLOSE_CODES).map((close) => close.code),
  1007,
  1009,
])

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype']

const nasty = fc.oneof(
  fc.constantFrom(
    -0,
    0,
    -1,
    1.5,
    2 ** 53,
    2 ** 63,
    1e308,
    -1e308,
    'NaN',
    'Infinity',
    '-0',
    '0x10',
    '1e3',
    '',
    ' ',
    null,
    true,
    false,
    [],
    {},
    '\u202e',
    '\u0000',
    '\ud800',
    '\udfff',
    '👍🏽',
  ),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 5 }),
  fc.dictionary(fc.constantFrom(...PROTOTYPE_KEYS, 'a', 'op'), fc.integer(), { maxKeys: 3 }),
  fc.constant('x'.repeat(5000)),
)

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

/** Raw texts no object generator would write. */
const RAW = [
  '',
  'null',
  '[]',
  '5',
  '"hello"',
  '{',
  '{"op":',
  '{"op":"ack","seq":-0}',
  '{"op":"ack","seq":1e400}',
  '{"op":"ack","seq":9007199254740993}',
  '{"op":"ping","op":"hello"}',
  '{"op":"__proto__","id":"1"}',
  '{"op":"constructor","id":"1"}',
  '{"op":"toString","id":"1"}',
  '{"__proto__":{"op":"ping"}}',
  '{"op":"message:edit","id":"p","message_id":1,"content":"x","__proto__":{"admin":true}}',
  `{"op":"ping","x":${deep(5000)}}`,
  deep(100_000),
  '{"op":"typing:start","chat_id":"1"}',
  '{"op":"message:send","id":"\\ud800","chat_id":1}',
]

type Base = Record<string, unknown>

function bases(chatId: number, messageId: number, token: string): Base[] {
  return [
    { op: 'hello', token, since: 0 },
    { op: 'ack', seq: 1 },
    { op: 'ping' },
    { op: 'typing:start', chat_id: chatId },
    { op: 'typing:stop', chat_id: chatId },
    {
      op: 'message:send',
      id: 's',
      chat_id: chatId,
      message_type: 'text',
      content: 'hi',
      client_msg_id: 'c-1',
    },
    { op: 'message:edit', id: 'e', message_id: messageId, content: 'edited' },
    { op: 'message:delete', id: 'd', message_id: messageId, for: 'me' },
    { op: 'message:read', id: 'r', chat_id: chatId, message_id: messageId },
    { op: 'reaction:add', id: 'a', message_id: messageId, emoji: '👍' },
    { op: 'reaction:remove', id: 'x', message_id: messageId, emoji: '👍' },
  ]
}

/** One generated frame: a mutated valid frame, a prototype-key op, a random object, raw text, or binary. */
function frameArbitrary(all: Base[]): fc.Arbitrary<string | Uint8Array> {
  const mutated = fc
    .tuple(
      fc.constantFrom(...all),
      fc.array(
        fc.oneof(
          fc.tuple(fc.constant('set' as const), fc.string({ maxLength: 12 }), nasty),
          fc.tuple(fc.constant('set' as const), fc.constantFrom(...PROTOTYPE_KEYS, 'op', 'id'), nasty),
          fc.tuple(fc.constant('mutate' as const), fc.nat(), nasty),
          fc.tuple(fc.constant('delete' as const), fc.nat(), fc.constant(null)),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([base, edits]) => {
      const frame: Base = { ...base }
      for (const [kind, which, value] of edits) {
        const keys = Object.keys(frame)
        if (kind === 'set')
          Object.defineProperty(frame, which, { value, enumerable: true, writable: true, configurable: true })
        else if (keys.length > 0) {
          const key = keys[Number(which) % keys.length] as string
          if (kind === 'mutate') frame[key] = value
          else delete frame[key]
        }
      }
      return JSON.stringify(frame)
    })
  const protoOp = fc
    .tuple(
      fc.constantFrom(...PROTOTYPE_KEYS, ...SOCKET_REQUEST_OPS.map((op) => op.toUpperCase())),
      fc.option(fc.string({ maxLength: 70 })),
    )
    .map(([op, id]) => JSON.stringify(id === null ? { op } : { op, id }))
  const randomObject = fc.object({ maxDepth: 3 }).map((value) => JSON.stringify(value))
  const raw = fc.oneof(fc.constantFrom(...RAW), fc.string({ unit: 'binary', maxLength: 200 }))
  const binary = fc.uint8Array({ maxLength: 64 })
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: protoOp },
    { weight: 1, arbitrary: randomObject },
    { weight: 2, arbitrary: raw },
    { weight: 1, arbitrary: binary },
  )
}

type Frame = { op?: unknown; id?: unknown; ok?: unknown; error?: { code?: unknown } }

/** A socket that records what the server said, with waits bounded by events (never a sleep). */
class Probe {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  closeCode: number | null = null
  private readonly listeners = new Set<() => void>()

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`)
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      this.frames.push(frame)
      for (const listener of [...this.listeners]) listener()
    })
    this.ws.on('close', (code) => {
      this.closeCode = code
      for (const listener of [...this.listeners]) listener()
    })
    this.ws.on('error', () => {})
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }

  /** Resolves once `done` holds or the socket closed; fails after 5 s. */
  until(done: () => boolean): Promise<void> {
    if (done() || this.closeCode !== null) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check)
        reject(new Error(`no answer within 5 s; frames: ${JSON.stringify(this.frames.slice(-3))}`))
      }, 5000)
      const check = () => {
        if (done() || this.closeCode !== null) {
          clearTimeout(timer)
          this.listeners.delete(check)
          resolve()
        }
      }
      this.listeners.add(check)
    })
  }

  send(data: string | Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary: typeof data !== 'string' })
  }
}

/** The id the server must answer for a frame (after hello), or null when it owes no reply. */
function owedReply(data: string | Uint8Array): string | null {
  if (typeof data !== 'string') return null
  try {
    const frame = JSON.parse(data) as unknown
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return null
    const id = (frame as { id?: unknown }).id
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null
  } catch {
    return null
  }
}

function assertDocumented(probe: Probe): void {
  for (const frame of probe.frames) {
    expect(Value.Check(ServerFrame, frame), `undocumented frame ${JSON.stringify(frame).slice(0, 300)}`).toBe(
      true,
    )
    if (frame.op === 'reply' && frame.ok === false) expect(frame.error?.code).not.toBe('internal_error')
  }
  if (probe.closeCode !== null) {
    expect(DOCUMENTED_CLOSES.has(probe.closeCode), `close code ${probe.closeCode}`).toBe(true)
    expect(probe.closeCode).not.toBe(CLOSE_CODES.internalError.code)
  }
}

describe.each(MODES)('fuzz /ws (%s)', (mode) => {
  let server: TestServer
  let user: TestUser
  let all: Base[]
  const probes: Probe[] = []
  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_RATE_LIMIT_PER_IP: '10000000',
      PARLEY_RATE_LIMIT_PER_USER: '10000000',
      PARLEY_WS_FRAMES_PER_SECOND: '100000',
      PARLEY_WS_MAX_SOCKETS_PER_USER: '100000',
      PARLEY_WS_MAX_SOCKETS_PER_SESSION: '100000',
      PARLEY_WS_MAX_PENDING_PER_IP: '100000',
    })
    user = await createUser(server)
    const friend = await createUser(server)
    const { chat } = await user.client.chats.open(friend.id)
    const { message } = await friend.client.messages.send(chat.id, {
      message_type: 'text',
      content: 'target',
      client_msg_id: 'fuzz-target',
    })
    all = bases(chat.id, message.id, user.auth.tokens.access_token)
  })
  afterAll(async () => {
    for (const probe of probes) probe.ws.terminate()
    await server?.close()
  })

  const probe = async () => {
    const socket = new Probe(server.url)
    probes.push(socket)
    await socket.opened()
    return socket
  }
  const ready = async () => {
    const socket = await probe()
    socket.send(JSON.stringify({ op: 'hello', token: user.auth.tokens.access_token, since: 0 }))
    await socket.until(() => socket.frames.some((frame) => frame.op === 'ready'))
    return socket
  }
  /** The server still serves: a fresh socket says hello and gets its ping answered. */
  const stillServes = async () => {
    const socket = await ready()
    socket.send('{"op":"ping"}')
    await socket.until(() => socket.frames.some((frame) => frame.op === 'pong'))
    expect(socket.frames.some((frame) => frame.op === 'pong')).toBe(true)
    socket.ws.close()
  }

  it(
    'before hello: every frame is refused with a documented close code (or, for a real hello, ready)',
    async () => {
      await fc.assert(
        fc.asyncProperty(frameArbitrary(all), async (data) => {
          const socket = await probe()
          socket.send(data)
          await socket.until(() => socket.frames.some((frame) => frame.op === 'ready'))
          assertDocumented(socket)
          socket.ws.terminate()
        }),
        { numRuns: RUNS },
      )
      await stillServes()
    },
    TIMEOUT_MS,
  )

  it(
    'after hello: every frame is answered with documented frames or a documented close, never internal_error',
    async () => {
      let socket = await ready()
      await fc.assert(
        fc.asyncProperty(frameArbitrary(all), async (data) => {
          if (socket.closeCode !== null) socket = await ready()
          const before = socket.frames.length
          socket.send(data)
          const id = owedReply(data)
          if (id !== null) {
            await socket.until(() =>
              socket.frames.slice(before).some((frame) => frame.op === 'reply' && frame.id === id),
            )
          }
          const pongs = socket.frames.filter((frame) => frame.op === 'pong').length
          socket.send('{"op":"ping"}')
          await socket.until(() => socket.frames.filter((frame) => frame.op === 'pong').length > pongs)
          if (id !== null && socket.closeCode === null) {
            expect(socket.frames.some((frame) => frame.op === 'reply' && frame.id === id)).toBe(true)
          }
          assertDocumented(socket)
        }),
        { numRuns: RUNS },
      )
      await stillServes()
    },
    TIMEOUT_MS,
  )
})
