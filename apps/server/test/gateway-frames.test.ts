import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/** Names every plain object inherits: a look-up by a client's `op` must find none of them. */
const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
]

describe.each(MODES)('gateway: no frame takes down more than its own socket (%s)', (mode) => {
  let server: TestServer
  let user: TestUser
  const sockets: RawSocket[] = []
  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_RATE_LIMIT_PER_IP: '100000',
      PARLEY_RATE_LIMIT_PER_USER: '100000',
      PARLEY_WS_FRAMES_PER_SECOND: '1000',
      // This suite keeps many sockets of one session open.
      PARLEY_WS_MAX_SOCKETS_PER_SESSION: '1000',
      PARLEY_WS_MAX_SOCKETS_PER_USER: '1000',
    })
    user = await createUser(server)
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await server?.close()
  })
  const open = async () => {
    const socket = await RawSocket.open(server.url, user.auth.tokens.access_token, 0)
    sockets.push(socket)
    return socket
  }
  const unopened = async () => {
    const socket = new RawSocket(server.url)
    sockets.push(socket)
    await new Promise((resolve) => socket.ws.once('open', resolve))
    return socket
  }
  /** The server still serves: a fresh socket says hello and gets its ping answered. */
  const stillServes = async () => {
    const fresh = await open()
    fresh.send({ op: 'ping' })
    expect(await fresh.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
    fresh.close()
  }
  const metric = async (reason: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    const line = text.split('\n').find((row) => row.startsWith(`parley_ws_errors_total{reason="${reason}"}`))
    return line ? Number(line.split(' ').at(-1)) : 0
  }

  it.each(PROTOTYPE_KEYS)(
    'answers op %s with an id by a coded error reply; the socket stays open',
    async (op) => {
      const socket = await open()
      const reply = await socket.request(op, 'x1', { chat_id: 1 })
      expect(reply).toMatchObject({ op: 'reply', id: 'x1', ok: false, error: { code: 'validation_error' } })
      socket.send({ op: 'ping' })
      expect(await socket.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
      await stillServes()
    },
  )

  it.each(PROTOTYPE_KEYS)('closes a socket that sends op %s without an id with 4502', async (op) => {
    const socket = await open()
    socket.send({ op })
    expect(await socket.closed).toMatchObject({ code: 4502, reason: 'protocol_error' })
    await stillServes()
  })

  it.each(PROTOTYPE_KEYS)('closes a socket that sends op %s before hello with 4502', async (op) => {
    const socket = await unopened()
    socket.send({ op, id: 'x', token: 'x', since: 0 })
    expect(await socket.closed).toMatchObject({ code: 4502, reason: 'protocol_error' })
    await stillServes()
  })

  it('refuses unknown fields in every request op, as the REST body does (one schema per operation)', async () => {
    const socket = await open()
    const valid: Record<string, Record<string, unknown>> = {
      'message:send': { chat_id: 1, message_type: 'text', content: 'x', client_msg_id: 'c1' },
      'message:edit': { message_id: 1, content: 'x' },
      'message:delete': { message_id: 1, for: 'me' },
      'message:read': { chat_id: 1, message_id: 1 },
      'reaction:add': { message_id: 1, emoji: '👍' },
      'reaction:remove': { message_id: 1, emoji: '👍' },
    }
    let n = 0
    for (const [op, fields] of Object.entries(valid)) {
      for (const extra of ['sender_id', 'admin', ...PROTOTYPE_KEYS]) {
        const reply = await socket.request(op, `u${n++}`, { ...fields, [extra]: 1 })
        expect(reply, `${op} with ${extra}`).toMatchObject({ ok: false, error: { code: 'validation_error' } })
      }
    }
    socket.send(`{"op":"message:edit","id":"proto","message_id":1,"content":"x","__proto__":{"op":"ping"}}`)
    expect(await socket.next((frame) => frame.op === 'reply' && frame.id === 'proto')).toMatchObject({
      ok: false,
      error: { code: 'validation_error' },
    })
    // The REST twin refuses the same extra field.
    const response = await fetch(`${server.url}/api/messages/1`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${user.auth.tokens.access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ content: 'x', sender_id: 1 }),
    })
    expect(response.status).toBe(400)
  })

  it('gives a request frame the verdict its REST twin gives: lengths count characters on both', async () => {
    const other = await createUser(server)
    const { chat } = await user.client.chats.open(other.id)
    // 5,001 characters, 10,002 UTF-16 units: within the 10,000-character limit on both transports.
    const content = '😀'.repeat(5001)
    const rest = await fetch(`${server.url}/api/chats/${chat.id}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.auth.tokens.access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ message_type: 'text', content, client_msg_id: 'len-rest' }),
    })
    expect(rest.status).toBe(201)
    const socket = await open()
    const fields = { chat_id: chat.id, message_type: 'text', content, client_msg_id: 'len-ws' }
    expect(await socket.request('message:send', 'len', fields)).toMatchObject({
      ok: true,
      data: { created: true, message: { content } },
    })
    // One past the limit is refused by both.
    const over = { ...fields, content: '😀'.repeat(10_001), client_msg_id: 'len-over' }
    expect(await socket.request('message:send', 'over', over)).toMatchObject({
      ok: false,
      error: { code: 'validation_error', details: [{ field: 'content' }] },
    })
  })

  it('takes prototype keys as field names, and bare JSON values, without a crash', async () => {
    for (const text of ['null', '[]', '5', '"hello"', 'true']) {
      const bare = await open()
      bare.send(text)
      expect((await bare.closed).code).toBe(4502)
    }
    await stillServes()
  })

  it('refuses a frame nested as deep as its bytes allow, on both transports, rather than failing on it', async () => {
    const before = await metric('internal_error')
    // 20,000 levels in 40 KB: under the frame and body limits, deeper than a recursive walk can go.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
    const socket = await open()
    socket.send(`{"op":"message:edit","id":"deep","message_id":1,"content":"x","x":${deep}}`)
    expect(await socket.next((frame) => frame.op === 'reply' && frame.id === 'deep')).toMatchObject({
      ok: false,
      error: { code: 'validation_error' },
    })
    socket.send(`{"op":"ping","x":${deep}}`)
    expect(await socket.closed).toMatchObject({ code: 4502, reason: 'protocol_error' })
    const rest = await fetch(`${server.url}/api/messages/1`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${user.auth.tokens.access_token}`,
        'content-type': 'application/json',
      },
      body: `{"content":"x","x":${deep}}`,
    })
    expect(rest.status).toBe(400)
    expect(await metric('internal_error')).toBe(before)
    await stillServes()
  })

  it('closes on frames the WebSocket layer refuses with codes websocket.md documents', async () => {
    const documented = fs.readFileSync(new URL('../../../docs/api/websocket.md', import.meta.url), 'utf8')
    // A text frame that is not UTF-8, and one over PARLEY_WS_MAX_FRAME_BYTES.
    for (const [payload, code] of [
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 1007],
      [Buffer.alloc(70_000, 0x20), 1009],
    ] as const) {
      const socket = await open()
      socket.ws.send(payload, { binary: false })
      expect((await socket.closed).code).toBe(code)
      expect(documented, `close ${code}`).toMatch(new RegExp(`\\| ${code} +\\| \\(standard\\)`))
    }
    await stillServes()
  })

  it('catches an exception inside a frame handler: logged, counted in /metrics, answered', async () => {
    const before = await metric('internal_error')
    const socket = await open()
    const now = server.clock.now.bind(server.clock)
    server.clock.now = () => {
      throw new Error('injected failure')
    }
    try {
      socket.send({ op: 'message:edit', id: 'boom', message_id: 1, content: 'x' })
      expect(await socket.next((frame) => frame.op === 'reply' && frame.id === 'boom')).toMatchObject({
        ok: false,
        error: { code: 'internal_error' },
      })
      socket.send({ op: 'ping' })
      expect(await socket.closed).toMatchObject({ code: 4007, reason: 'internal_error' })
    } finally {
      server.clock.now = now
    }
    expect(await metric('internal_error')).toBe(before + 2)
    expect(await metric('protocol_error')).toBeGreaterThan(0)
    await stillServes()
  })
})
