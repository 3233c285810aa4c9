import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { type Frame, RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const text = (content: string, client_msg_id = `c-${Math.random().toString(36).slice(2)}`) => ({
  message_type: 'text' as const,
  content,
  client_msg_id,
})
const isUpdate = (type: string) => (frame: Frame) => frame.op === 'update' && frame.type === type
const contentOf = (frame: Frame) =>
  (frame.data as { message?: { content?: string } }).message?.content ?? null

describe.each(MODES)('WebSocket gateway (%s)', (mode) => {
  let server: TestServer
  const sockets: RawSocket[] = []
  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_RATE_LIMIT_PER_IP: '100000',
      PARLEY_RATE_LIMIT_PER_USER: '100000',
    })
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await server?.close()
  })
  const open = async (user: TestUser, since = 0, token = user.auth.tokens.access_token) => {
    const socket = await RawSocket.open(server.url, token, since)
    sockets.push(socket)
    return socket
  }
  async function pair() {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, chatId: chat.id }
  }

  it('catches up from the cursor, then delivers live to every device of every member, once and in order', async () => {
    const { ada, bob, chatId } = await pair()
    await ada.client.messages.send(chatId, text('before'))
    const bobPhone = await open(bob)
    const bobLaptopLogin = server.client()
    await bobLaptopLogin.auth.login({ username: bob.username, password: bob.password })
    const bobLaptop = await RawSocket.open(server.url, bobLaptopLogin.accessToken ?? '', 0)
    sockets.push(bobLaptop)
    const adaSocket = await open(ada)

    expect(contentOf(await bobPhone.next(isUpdate('message:new')))).toBe('before')
    await ada.client.messages.send(chatId, text('live'))
    for (const socket of [bobPhone, bobLaptop, adaSocket]) {
      expect(
        contentOf(
          await socket.next((frame) => isUpdate('message:new')(frame) && contentOf(frame) === 'live'),
        ),
      ).toBe('live')
    }
    const seqs = bobPhone.updates().map((update) => update.seq)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    expect(bobPhone.frames[0]).toMatchObject({ op: 'ready', session_id: bob.auth.tokens.session_id })
  })

  it('resumes after a disconnect with no gap and no duplicate', async () => {
    const { ada, bob, chatId } = await pair()
    await ada.client.messages.send(chatId, text('one'))
    const first = await open(bob)
    const one = await first.next(isUpdate('message:new'))
    first.close()
    await first.closed
    for (const word of ['two', 'three', 'four']) await ada.client.messages.send(chatId, text(word))
    const again = await open(bob, one.seq as number)
    const words: Array<string | null> = []
    for (let i = 0; i < 3; i++) words.push(contentOf(await again.next(isUpdate('message:new'))))
    expect(words).toEqual(['two', 'three', 'four'])
    expect(again.updates().map((update) => update.seq)).toEqual(
      [2, 3, 4].map((n) => (one.seq as number) + n - 1),
    )
  })

  it('fills a live gap from the log when the bus loses a frame', async () => {
    const { ada, bob, chatId } = await pair()
    const socket = await open(bob)
    const bus = server.deps.bus
    const publish = bus.publish.bind(bus)
    let dropped = 0
    bus.publish = async (topic, payload) => {
      if (topic === `user:${bob.id}` && dropped === 0 && payload.includes('"lost"')) {
        dropped += 1
        return
      }
      return publish(topic, payload)
    }
    try {
      await ada.client.messages.send(chatId, text('lost'))
      await ada.client.messages.send(chatId, text('after'))
    } finally {
      bus.publish = publish
    }
    expect(dropped).toBe(1)
    expect(contentOf(await socket.next(isUpdate('message:new')))).toBe('lost')
    expect(contentOf(await socket.next(isUpdate('message:new')))).toBe('after')
  })

  it('holds frames sent right behind hello until it is through', async () => {
    const { ada } = await pair()
    const socket = new RawSocket(server.url)
    sockets.push(socket)
    await new Promise((resolve) => socket.ws.once('open', resolve))
    socket.send({ op: 'hello', token: ada.auth.tokens.access_token, since: 0 })
    socket.send({ op: 'ping' })
    expect(await socket.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
    expect(socket.frames.map((frame) => frame.op)).toContain('ready')
  })

  it('answers resync_required for a cursor it cannot serve', async () => {
    const { bob } = await pair()
    const socket = new RawSocket(server.url)
    sockets.push(socket)
    await new Promise((resolve) => socket.ws.once('open', resolve))
    socket.send({ op: 'hello', token: bob.auth.tokens.access_token, since: 9999 })
    expect(await socket.next((frame) => frame.op === 'resync_required')).toMatchObject({ current_seq: 0 })
    expect(await socket.next((frame) => frame.op === 'ready')).toMatchObject({ seq: 0 })
  })

  it('acks move the delivered tick: the sender gets message:delivered', async () => {
    const { ada, bob, chatId } = await pair()
    const adaSocket = await open(ada)
    const bobSocket = await open(bob)
    const sent = await ada.client.messages.send(chatId, text('tick'))
    const update = await bobSocket.next(isUpdate('message:new'))
    bobSocket.send({ op: 'ack', seq: update.seq })
    const delivered = await adaSocket.next(isUpdate('message:delivered'))
    expect(delivered.data).toMatchObject({
      chat_id: chatId,
      user_id: bob.id,
      delivered_seq: sent.message.seq,
    })
    const { messages } = await ada.client.messages.history(chatId)
    expect(messages.at(-1)?.status).toBe('delivered')
  })

  it('runs requests through the same actions as REST', async () => {
    const { ada, bob, chatId } = await pair()
    const socket = await open(ada)
    const sent = await socket.request('message:send', 'r1', {
      chat_id: chatId,
      ...text('over the socket', 'sock-1'),
    })
    expect(sent).toMatchObject({ ok: true, data: { created: true, message: { content: 'over the socket' } } })
    const again = await socket.request('message:send', 'r2', {
      chat_id: chatId,
      ...text('over the socket', 'sock-1'),
    })
    expect(again).toMatchObject({ ok: true, data: { created: false } })
    const sentId = (sent.data as { message: { id: number } }).message.id
    expect((again.data as { message: { id: number } }).message.id).toBe(sentId)

    const edited = await socket.request('message:edit', 'r3', { message_id: sentId, content: 'edited' })
    expect(edited).toMatchObject({ ok: true, data: { message: { content: 'edited' } } })
    const invalid = await socket.request('message:send', 'r4', {
      chat_id: chatId,
      message_type: 'text',
      client_msg_id: 'x',
    })
    expect(invalid).toMatchObject({ ok: false, error: { code: 'validation_error' } })
    const outsider = await createUser(server)
    const theirs = await (await open(outsider)).request('message:send', 'r5', {
      chat_id: chatId,
      ...text('let me in'),
    })
    expect(theirs).toMatchObject({ ok: false, error: { code: 'not_found' } })
    const read = await (await open(bob)).request('message:read', 'r6', {
      chat_id: chatId,
      message_id: sentId,
    })
    expect(read).toMatchObject({ ok: true, data: { read_seq: 1 } })
    const reacted = await socket.request('reaction:add', 'r7', { message_id: sentId, emoji: '👍' })
    expect(reacted).toMatchObject({ ok: true, data: { reaction: { emoji: '👍', count: 1 } } })
    const history = await bob.client.messages.history(chatId)
    expect(history.messages.map((message) => message.content)).toEqual(['edited'])
    expect(history.messages[0]?.reactions).toMatchObject([{ emoji: '👍', count: 1 }])
    const unreacted = await socket.request('reaction:remove', 'r8', { message_id: sentId, emoji: '👍' })
    expect(unreacted).toMatchObject({ ok: true, data: { reaction: { count: 0 } } })
  })

  it('closes with documented codes: bad token, expired token, revoked session, protocol error', async () => {
    const { ada } = await pair()
    const forged = new RawSocket(server.url)
    await new Promise((resolve) => forged.ws.once('open', resolve))
    forged.send({ op: 'hello', token: 'not-a-token', since: 0 })
    expect((await forged.closed).code).toBe(4500)

    const garbage = await open(ada)
    garbage.send('this is not json')
    expect((await garbage.closed).code).toBe(4502)

    const phone = await createUser(server)
    const revoked = await open(phone)
    await phone.client.auth.logout()
    expect(await revoked.closed).toMatchObject({ code: 4501, reason: 'session_revoked' })

    const sleepy = await createUser(server)
    const expiring = await open(sleepy)
    server.clock.advance(15 * 60_000 + 1000)
    expiring.send({ op: 'ping' })
    expect(await expiring.closed).toMatchObject({ code: 4002, reason: 'token_expired' })
  })

  it('closes a socket that sends frames too large or too fast', async () => {
    const { ada } = await pair()
    const big = await open(ada)
    big.send({ op: 'ping', padding: 'x'.repeat(70_000) })
    expect((await big.closed).code).toBe(1009)

    const chatty = await open(ada)
    for (let i = 0; i < 60; i++) chatty.send({ op: 'ping' })
    expect(await chatty.closed).toMatchObject({ code: 4004, reason: 'rate_limited' })
  })

  it('refuses an upgrade from a foreign browser origin', async () => {
    const socket = new RawSocket(server.url, { origin: 'https://evil.example' })
    const outcome = await new Promise<string>((resolve) => {
      socket.ws.once('open', () => resolve('open'))
      socket.ws.once('unexpected-response', (_request, response) => resolve(String(response.statusCode)))
      socket.ws.once('error', () => resolve('error'))
    })
    expect(outcome).toBe('403')
  })
})
