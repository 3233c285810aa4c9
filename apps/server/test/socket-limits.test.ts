import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

describe.each(MODES)('socket limits: one request budget, socket caps (%s)', (mode) => {
  let server: TestServer | null = null
  const sockets: RawSocket[] = []
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close()
    await server?.close()
    server = null
  })
  const start = async (env: Record<string, string>) => {
    server = await startServer(mode, env)
    return server
  }
  const open = async (s: TestServer, token: string) => {
    const socket = await RawSocket.open(s.url, token, 0)
    sockets.push(socket)
    return socket
  }
  const unopened = async (s: TestServer) => {
    const socket = new RawSocket(s.url)
    sockets.push(socket)
    await new Promise((resolve) => socket.ws.once('open', resolve))
    return socket
  }
  /** A second session (device) of the same user. */
  const secondDevice = async (s: TestServer, user: TestUser) => {
    const client = s.client()
    await client.auth.login({ username: user.username, password: user.password })
    return client.accessToken ?? ''
  }

  it("counts socket requests and REST requests against the user's one budget", async () => {
    const s = await start({ PARLEY_RATE_LIMIT_PER_USER: '5' })
    const user = await createUser(s)
    const socket = await open(s, user.auth.tokens.access_token)
    for (let i = 0; i < 3; i++) await user.client.users.profile()
    for (const id of ['a', 'b']) {
      const reply = await socket.request('message:edit', id, { message_id: 1, content: 'x' })
      expect(reply).toMatchObject({ ok: false, error: { code: 'not_found' } })
    }
    const refused = await socket.request('message:edit', 'c', { message_id: 1, content: 'x' })
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'rate_limited', details: { retry_after: expect.any(Number) } },
    })
    const rest = await fetch(`${s.url}/api/user/profile`, {
      headers: { authorization: `Bearer ${user.auth.tokens.access_token}` },
    })
    expect(rest.status).toBe(429)
  })

  it("spends the user's budget on each typing look-up, so typing into chat after chat is no query flood", async () => {
    const s = await start({ PARLEY_RATE_LIMIT_PER_USER: '5' })
    const user = await createUser(s)
    const socket = await open(s, user.auth.tokens.access_token)
    // Chats the user is not in: each frame would cost membership queries.
    for (let chatId = 900_001; chatId <= 900_005; chatId++)
      socket.send({ op: 'typing:start', chat_id: chatId })
    // The pong comes back once the frames before it were handled, and so their look-ups had begun.
    socket.send({ op: 'ping' })
    await socket.next((frame) => frame.op === 'pong')
    const refused = await socket.request('message:edit', 'after-typing', { message_id: 1, content: 'x' })
    expect(refused).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
  })

  it('counts a frame held behind the hello once against the frame rate', async () => {
    const s = await start({ PARLEY_WS_FRAMES_PER_SECOND: '10' })
    const user = await createUser(s)
    const socket = await unopened(s)
    // The hello and 6 pings right behind it: 7 frames, within 10 per second however long the hello takes.
    socket.send({ op: 'hello', token: user.auth.tokens.access_token, since: 0 })
    for (let i = 0; i < 6; i++) socket.send({ op: 'ping' })
    for (let i = 0; i < 6; i++)
      expect(await socket.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
    socket.send({ op: 'ping' })
    expect(await socket.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
  })

  it('caps open sockets per user across sessions (4006), and frees the slot on close', async () => {
    const s = await start({ PARLEY_WS_MAX_SOCKETS_PER_USER: '2', PARLEY_WS_MAX_SOCKETS_PER_SESSION: '10' })
    const user = await createUser(s)
    const first = await open(s, user.auth.tokens.access_token)
    await open(s, await secondDevice(s, user))
    const third = await unopened(s)
    third.send({ op: 'hello', token: await secondDevice(s, user), since: 0 })
    expect(await third.closed).toMatchObject({ code: 4006, reason: 'too_many_connections' })
    first.close()
    await first.closed
    await open(s, user.auth.tokens.access_token)
    // Another user is not affected.
    const other = await createUser(s)
    await open(s, other.auth.tokens.access_token)
  })

  it('caps open sockets per session (4006); another session of the user still connects', async () => {
    const s = await start({ PARLEY_WS_MAX_SOCKETS_PER_SESSION: '2' })
    const user = await createUser(s)
    const token = user.auth.tokens.access_token
    await open(s, token)
    await open(s, token)
    const third = await unopened(s)
    third.send({ op: 'hello', token, since: 0 })
    expect(await third.closed).toMatchObject({ code: 4006, reason: 'too_many_connections' })
    await open(s, await secondDevice(s, user))
  })

  it('caps sockets that have not said hello per IP (4006); a hello frees the slot', async () => {
    const s = await start({ PARLEY_WS_MAX_PENDING_PER_IP: '2' })
    const user = await createUser(s)
    const waiting = await unopened(s)
    await unopened(s)
    const over = new RawSocket(s.url)
    sockets.push(over)
    expect(await over.closed).toMatchObject({ code: 4006, reason: 'too_many_connections' })
    waiting.send({ op: 'hello', token: user.auth.tokens.access_token, since: 0 })
    await waiting.next((frame) => frame.op === 'ready')
    await open(s, user.auth.tokens.access_token)
  })

  it('counts an IPv6 client by its /64 in the pre-hello cap', async () => {
    const s = await start({ PARLEY_TRUST_PROXY: 'true', PARLEY_WS_MAX_PENDING_PER_IP: '2' })
    const from = async (address: string) => {
      const socket = new RawSocket(s.url, { 'x-forwarded-for': address })
      sockets.push(socket)
      await new Promise((resolve) => socket.ws.once('open', resolve))
      return socket
    }
    await from('2001:db8:1:2::1')
    await from('2001:db8:1:2::2')
    const rotated = await from('2001:db8:1:2:ffff::3')
    expect(await rotated.closed).toMatchObject({ code: 4006, reason: 'too_many_connections' })
    // Another /64 is another client.
    const neighbour = await from('2001:db8:1:3::1')
    neighbour.send({ op: 'ping' })
    expect(await neighbour.closed).toMatchObject({ code: 4502 })
  })

  it('counts an IPv6 client by its /64 in the per-IP request limit', async () => {
    const s = await start({ PARLEY_TRUST_PROXY: 'true', PARLEY_RATE_LIMIT_PER_IP: '2' })
    const statuses: number[] = []
    for (const address of ['2001:db8:9:9::1', '2001:db8:9:9::2', '2001:db8:9:9::3', '2001:db8:9:a::1']) {
      const response = await fetch(`${s.url}/api/users/search?q=x`, {
        headers: { 'x-forwarded-for': address },
      })
      statuses.push(response.status)
    }
    expect(statuses.slice(2)).toEqual([429, 401])
  })

  it('closes a connection that never finishes its upgrade within PARLEY_HTTP_HEADERS_TIMEOUT_MS', async () => {
    const s = await start({ PARLEY_HTTP_HEADERS_TIMEOUT_MS: '300', PARLEY_WS_HELLO_TIMEOUT_MS: '60000' })
    const { port } = new URL(s.url)
    const slow = (head: string) =>
      new Promise<string>((resolve) => {
        const tcp = net.connect(Number(port), '127.0.0.1')
        let answer = ''
        tcp.on('data', (chunk) => {
          answer += chunk.toString()
        })
        tcp.on('error', () => {})
        tcp.on('close', () => resolve(answer))
        if (head) tcp.write(head)
      })
    // Headers that stop halfway, and a connection that never says anything: both are closed.
    await Promise.all([slow('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'), slow('')])
    // A socket whose upgrade completed is not: its hello, sent past the deadline, is still answered.
    const user = await createUser(s)
    const waiting = await unopened(s)
    await new Promise<void>((resolve) => setTimeout(resolve, 600))
    waiting.send({ op: 'hello', token: user.auth.tokens.access_token, since: 0 })
    expect(await waiting.next((frame) => frame.op === 'ready')).toMatchObject({ op: 'ready' })
  })

  it('closes a socket that sends no hello within PARLEY_WS_HELLO_TIMEOUT_MS (4005)', async () => {
    const s = await start({ PARLEY_WS_HELLO_TIMEOUT_MS: '200' })
    const silent = await unopened(s)
    expect(await silent.closed).toMatchObject({ code: 4005, reason: 'hello_timeout' })
  })
})
