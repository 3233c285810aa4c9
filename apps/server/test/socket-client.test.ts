import type { Update } from '@parley/protocol'
import {
  ApiRequestError,
  ParleySocket,
  type ParleySocketEvent,
  type ParleySocketEvents,
  type ParleySocketOptions,
} from '@parley/sdk'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createUser, type TestUser } from './helpers/factories.ts'
import { clientMsgId, fullHistory, syncAll, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const WAIT_MS = 8_000

/** Resolves with the next `name` event that satisfies `predicate`; rejects after `timeoutMs`. */
function nextEvent<K extends ParleySocketEvent>(
  socket: ParleySocket,
  name: K,
  predicate: (payload: ParleySocketEvents[K]) => boolean = () => true,
  timeoutMs = WAIT_MS,
): Promise<ParleySocketEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = socket.on(name, (payload) => {
      if (!predicate(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}

/** A promise the test resolves by hand: holds a reconnect back while the test acts. */
function gate() {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

describe.each(MODES)('ParleySocket against /ws (%s)', (mode) => {
  let server: TestServer
  let wsUrl: string
  const sockets: ParleySocket[] = []

  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    wsUrl = `${server.url.replace('http', 'ws')}/ws`
  })
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close()
  })
  afterAll(async () => {
    await server?.close()
  })

  /** A socket for a user's current token (or `getToken`), recording every update it delivers. */
  function open(user: TestUser, options: Partial<ParleySocketOptions> = {}) {
    const socket = new ParleySocket({
      WebSocket,
      getToken: () => user.client.accessToken ?? '',
      ...options,
    })
    sockets.push(socket)
    const updates: Update[] = []
    socket.on('update', (update) => updates.push(update))
    return { socket, updates }
  }

  async function pair() {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, chatId: chat.id }
  }

  const isNewMessage = (messageId: number) => (update: Update) =>
    update.type === 'message:new' && update.data.message.id === messageId

  /** Seqs delivered must be exactly the user's log: consecutive, no duplicates, none missing. */
  async function expectWholeLog(user: TestUser, updates: Update[]) {
    const log = await syncAll(user.client)
    expect(updates.map((update) => update.seq)).toEqual(log.map((update) => update.seq))
    expect(updates.map((update) => update.type)).toEqual(log.map((update) => update.type))
  }

  it("delivers the other member's REST send once, to each of the recipient's devices", async () => {
    const { ada, bob, chatId } = await pair()
    const phone = open(bob)
    await phone.socket.connect(wsUrl)
    const second = await bob.client.auth.login({ username: bob.username, password: bob.password })
    const laptop = open(bob, { getToken: () => second.tokens.access_token })
    await laptop.socket.connect(wsUrl)

    const both = [phone, laptop].map(({ socket }) =>
      nextEvent(socket, 'update', (u) => u.type === 'message:new'),
    )
    const { message } = await ada.client.messages.send(chatId, text('hello bob'))
    for (const update of await Promise.all(both)) {
      expect(update.type === 'message:new' && update.data.message.id).toBe(message.id)
    }

    // A second message marks the end: by then any duplicate of the first would have arrived.
    const marks = [phone, laptop].map(({ socket }) =>
      nextEvent(socket, 'update', (u) => u.type === 'message:new'),
    )
    const mark = (await ada.client.messages.send(chatId, text('marker'))).message
    await Promise.all(marks)
    for (const device of [phone, laptop]) {
      expect(device.updates.filter(isNewMessage(message.id))).toHaveLength(1)
      expect(device.updates.filter(isNewMessage(mark.id))).toHaveLength(1)
      expect(device.socket.cursor).toBe(device.updates.at(-1)?.seq)
      await expectWholeLog(bob, device.updates)
    }
  })

  it('resumes after a dropped connection with exactly the missed updates, in order', async () => {
    const { ada, bob, chatId } = await pair()
    const held = gate()
    let heldBack = false
    const bobDevice = open(bob, {
      getToken: async () => {
        if (heldBack) await held.opened
        return bob.client.accessToken ?? ''
      },
    })
    await bobDevice.socket.connect(wsUrl)
    const first = nextEvent(bobDevice.socket, 'update', (u) => u.type === 'message:new')
    await ada.client.messages.send(chatId, text('before'))
    await first

    heldBack = true
    const disconnected = nextEvent(bobDevice.socket, 'disconnected')
    bobDevice.socket.dropConnectionForTest()
    await disconnected
    expect(bobDevice.socket.state).not.toBe('ready')
    const delivered = bobDevice.updates.length

    const missed = []
    for (let i = 1; i <= 5; i++)
      missed.push((await ada.client.messages.send(chatId, text(`while away ${i}`))).message)

    const fifth = nextEvent(bobDevice.socket, 'update', isNewMessage(missed[4]!.id))
    const ready = nextEvent(bobDevice.socket, 'ready')
    held.open()
    expect((await ready).seq).toBeGreaterThanOrEqual(bobDevice.socket.cursor)
    await fifth

    const resumed = bobDevice.updates.slice(delivered)
    expect(
      resumed.map((update) => (update.type === 'message:new' ? update.data.message.id : update.type)),
    ).toEqual(missed.map((message) => message.id))
    await expectWholeLog(bob, bobDevice.updates)
  })

  it('sends through the outbox while connected and resolves with the message', async () => {
    const { ada, bob, chatId } = await pair()
    const adaDevice = open(ada)
    const bobDevice = open(bob)
    await Promise.all([adaDevice.socket.connect(wsUrl), bobDevice.socket.connect(wsUrl)])

    const id = clientMsgId()
    const received = nextEvent(bobDevice.socket, 'update', (u) => u.type === 'message:new')
    const message = await adaDevice.socket.send(chatId, {
      message_type: 'text',
      content: 'over the socket',
      client_msg_id: id,
    })
    expect(message).toMatchObject({
      chat_id: chatId,
      content: 'over the socket',
      client_msg_id: id,
      sender_id: ada.id,
    })
    expect(adaDevice.socket.outbox.size).toBe(0)
    const update = await received
    expect(update.type === 'message:new' && update.data.message.id).toBe(message.id)

    // A client_msg_id the server already has answers the original message.
    const again = await adaDevice.socket.send(chatId, {
      message_type: 'text',
      content: 'over the socket',
      client_msg_id: id,
    })
    expect(again.id).toBe(message.id)
    // Without an id, one is generated.
    const generated = await adaDevice.socket.send(chatId, { message_type: 'text', content: 'no id' })
    expect(generated.client_msg_id).toEqual(expect.any(String))
    expect((await fullHistory(ada.client, chatId)).map((m) => m.id)).toEqual([message.id, generated.id])
  })

  it('keeps a send in the outbox across a dropped connection and resends it once', async () => {
    const { ada, chatId } = await pair()
    const held = gate()
    let heldBack = false
    const adaDevice = open(ada, {
      getToken: async () => {
        if (heldBack) await held.opened
        return ada.client.accessToken ?? ''
      },
    })
    await adaDevice.socket.connect(wsUrl)

    heldBack = true
    const id = clientMsgId()
    const disconnected = nextEvent(adaDevice.socket, 'disconnected')
    const sent = adaDevice.socket.send(chatId, {
      message_type: 'text',
      content: 'through the storm',
      client_msg_id: id,
    })
    adaDevice.socket.dropConnectionForTest()
    await disconnected
    expect(adaDevice.socket.outbox.size).toBe(1)
    expect([...adaDevice.socket.outbox.keys()]).toEqual([id])

    held.open()
    const message = await sent
    expect(message).toMatchObject({ client_msg_id: id, content: 'through the storm' })
    expect(adaDevice.socket.outbox.size).toBe(0)
    const history = await fullHistory(ada.client, chatId)
    expect(history.filter((m) => m.client_msg_id === id).map((m) => m.id)).toEqual([message.id])
  })

  it("moves the sender's ticks to delivered once the recipient's device acks", async () => {
    const { ada, bob, chatId } = await pair()
    const adaDevice = open(ada)
    const bobDevice = open(bob)
    await Promise.all([adaDevice.socket.connect(wsUrl), bobDevice.socket.connect(wsUrl)])

    const { message } = await ada.client.messages.send(chatId, text('did you get this?'))
    const delivered = await nextEvent(
      adaDevice.socket,
      'update',
      (u) =>
        u.type === 'message:delivered' && u.data.chat_id === chatId && u.data.delivered_seq >= message.seq,
    )
    expect(delivered.type === 'message:delivered' && delivered.data.user_id).toBe(bob.id)
    const history = await fullHistory(ada.client, chatId)
    expect(history.find((m) => m.id === message.id)?.status).toBe('delivered')
  })

  it('answers requests with their data or an error carrying the code', async () => {
    const { ada, bob, chatId } = await pair()
    const adaDevice = open(ada)
    await adaDevice.socket.connect(wsUrl)
    const message = await adaDevice.socket.send(chatId, { message_type: 'text', content: 'tpyo' })

    const { message: edited } = await adaDevice.socket.request('message:edit', {
      message_id: message.id,
      content: 'typo',
    })
    expect(edited).toMatchObject({ id: message.id, content: 'typo' })

    const missing = adaDevice.socket.request('message:edit', { message_id: 987_654_321, content: 'x' })
    await expect(missing).rejects.toBeInstanceOf(ApiRequestError)
    await expect(missing).rejects.toMatchObject({ status: 0, code: 'not_found' })

    // A send the server refuses leaves the outbox with the error.
    const stranger = await createUser(server)
    const refused = adaDevice.socket.send(stranger.id + 1_000_000, { message_type: 'text', content: 'nope' })
    await expect(refused).rejects.toMatchObject({ status: 0 })
    expect(adaDevice.socket.outbox.size).toBe(0)
    expect(bob.id).toBeGreaterThan(0)
  })

  it("emits 'resync' when the cursor is ahead of the server, then continues from current_seq", async () => {
    const { ada, bob, chatId } = await pair()
    const bobDevice = open(bob, { since: 1_000_000 })
    const resync = nextEvent(bobDevice.socket, 'resync')
    await bobDevice.socket.connect(wsUrl)
    const { current_seq } = await resync
    const log = await syncAll(bob.client)
    expect(current_seq).toBe(log.at(-1)?.seq ?? 0)
    expect(bobDevice.socket.cursor).toBe(current_seq)

    const next = nextEvent(bobDevice.socket, 'update')
    const { message } = await ada.client.messages.send(chatId, text('after the resync'))
    const update = await next
    expect(update.seq).toBe(current_seq + 1)
    expect(update.type === 'message:new' && update.data.message.id).toBe(message.id)
  })

  it('stops for good on a terminal close code (invalid token)', async () => {
    const user = await createUser(server)
    const device = open(user, { getToken: () => 'not-a-token' })
    const closed = nextEvent(device.socket, 'closed')
    await expect(device.socket.connect(wsUrl)).rejects.toMatchObject({ code: 'service_unavailable' })
    expect((await closed).code).toBeGreaterThanOrEqual(4500)
    expect(device.socket.state).toBe('closed')
    await expect(device.socket.request('message:read', { chat_id: 1, message_id: 1 })).rejects.toMatchObject({
      code: 'service_unavailable',
    })
  })
})

type ClientFrame = { op: string } & Record<string, unknown>

/**
 * A scripted stand-in for the server, for what a real one does not do on demand: skip a seq, go
 * silent, expire a token. Each connection the client opens shows up in `connections`.
 */
function scriptedServer() {
  const connections: ScriptedSocket[] = []
  const waiters: Array<(socket: ScriptedSocket) => void> = []
  class ScriptedSocket {
    readyState = 0
    readonly frames: ClientFrame[] = []
    private readonly frameWaiters: Array<{ op: string; resolve: (frame: ClientFrame) => void }> = []
    onopen: ((event: unknown) => void) | null = null
    onmessage: ((event: { data: unknown }) => void) | null = null
    onclose: ((event: { code: number; reason: string }) => void) | null = null
    onerror: ((event: unknown) => void) | null = null
    constructor(readonly url: string) {
      connections.push(this)
      queueMicrotask(() => {
        this.readyState = 1
        this.onopen?.({})
        waiters.shift()?.(this)
      })
    }
    send(data: string) {
      const frame = JSON.parse(data) as ClientFrame
      this.frames.push(frame)
      const index = this.frameWaiters.findIndex((waiter) => waiter.op === frame.op)
      if (index >= 0) this.frameWaiters.splice(index, 1)[0]?.resolve(frame)
    }
    close(code = 1000, reason = '') {
      if (this.readyState === 3) return
      this.readyState = 3
      queueMicrotask(() => this.onclose?.({ code, reason }))
    }
    /** The server sends a frame. */
    push(frame: object) {
      this.onmessage?.({ data: JSON.stringify(frame) })
    }
    /** The next frame with this op the client sends (or the first already sent and not yet taken). */
    nextFrame(op: string, timeoutMs = WAIT_MS): Promise<ClientFrame> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no '${op}' frame within ${timeoutMs} ms`)),
          timeoutMs,
        )
        this.frameWaiters.push({
          op,
          resolve: (frame) => {
            clearTimeout(timer)
            resolve(frame)
          },
        })
      })
    }
    ops() {
      return this.frames.map((frame) => frame.op)
    }
  }
  return {
    WebSocket: ScriptedSocket,
    connections,
    /** Resolves with the next connection once it is open (its hello is then in `frames`). */
    nextConnection(timeoutMs = WAIT_MS): Promise<ScriptedSocket> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs)
        waiters.push((socket) => {
          clearTimeout(timer)
          resolve(socket)
        })
      })
    },
  }
}

const updateFrame = (seq: number) => ({
  op: 'update',
  seq,
  type: 'chat:settings',
  data: { chat_id: 1, muted_until: null, pinned: seq % 2 === 0, archived: false },
})

describe('ParleySocket against a scripted server', () => {
  const sockets: ParleySocket[] = []
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close()
  })
  function client(options: Partial<ParleySocketOptions> = {}) {
    const server = scriptedServer()
    const tokens: boolean[] = []
    const socket = new ParleySocket({
      WebSocket: server.WebSocket,
      getToken: ({ refresh }) => {
        tokens.push(refresh)
        return refresh ? 'fresh-token' : 'token'
      },
      random: () => 0,
      ...options,
    })
    sockets.push(socket)
    const updates: Update[] = []
    socket.on('update', (update) => updates.push(update))
    return { server, socket, updates, tokens }
  }

  it('drops duplicates, never delivers across a gap, and resumes from the cursor to refill it', async () => {
    const { server, socket, updates } = client({ since: 3 })
    const first = server.nextConnection()
    const ready = socket.connect('ws://scripted/ws')
    const one = await first
    expect(one.frames[0]).toEqual({ op: 'hello', token: 'token', since: 3 })
    one.push({ op: 'ready', seq: 5, session_id: 's' })
    await ready
    one.push(updateFrame(3)) // duplicate of what the cursor covers
    one.push(updateFrame(4))
    one.push(updateFrame(4)) // duplicate
    const second = server.nextConnection()
    one.push(updateFrame(6)) // gap: 5 is missing
    const two = await second
    expect(updates.map((update) => update.seq)).toEqual([4])
    expect(two.frames[0]).toEqual({ op: 'hello', token: 'token', since: 4 })
    two.push({ op: 'ready', seq: 6, session_id: 's' })
    two.push(updateFrame(5))
    two.push(updateFrame(6))
    expect(updates.map((update) => update.seq)).toEqual([4, 5, 6])
    expect(socket.cursor).toBe(6)
  })

  it('coalesces acks and saves the cursor before acking', async () => {
    const saved: number[] = []
    const { server, socket } = client({ store: { load: async () => 10, save: (seq) => saved.push(seq) } })
    const opened = server.nextConnection()
    const ready = socket.connect('ws://scripted/ws')
    const connection = await opened
    expect(connection.frames[0]).toMatchObject({ op: 'hello', since: 10 })
    connection.push({ op: 'ready', seq: 13, session_id: 's' })
    await ready
    const ack = connection.nextFrame('ack')
    for (const seq of [11, 12, 13]) connection.push(updateFrame(seq))
    expect(await ack).toEqual({ op: 'ack', seq: 13 })
    expect(connection.ops().filter((op) => op === 'ack')).toHaveLength(1)
    expect(saved).toEqual([13])
  })

  it('refreshes the token after 4002 and reconnects with jittered exponential back-off', async () => {
    const { server, socket, tokens } = client({ random: () => 0.5, backoffBaseMs: 2, backoffCapMs: 8 })
    const delays: number[] = []
    socket.on('reconnecting', ({ delay }) => delays.push(delay))
    const opened = server.nextConnection()
    void socket.connect('ws://scripted/ws')
    let connection = await opened
    for (let i = 0; i < 4; i++) {
      const next = server.nextConnection()
      connection.close(4000, 'server_restart')
      connection = await next
    }
    expect(delays).toEqual([1, 2, 4, 4])
    const refreshed = server.nextConnection()
    connection.close(4002, 'token_expired')
    connection = await refreshed
    expect(connection.frames[0]).toMatchObject({ op: 'hello', token: 'fresh-token' })
    expect(tokens).toEqual([false, false, false, false, false, true])
    const ready = nextEvent(socket, 'ready')
    connection.push({ op: 'ready', seq: 0, session_id: 's' })
    await ready
    // Back-off starts again after a successful connection.
    const again = nextEvent(socket, 'reconnecting')
    connection.close(1006, '')
    expect((await again).attempt).toBe(1)
  })

  it('reconnectNow() skips the rest of a back-off, and does nothing while connected', async () => {
    // A back-off far longer than the test's wait: only reconnectNow() can open the second connection.
    const { server, socket } = client({ random: () => 1, backoffBaseMs: 60_000, backoffCapMs: 60_000 })
    const opened = server.nextConnection()
    void socket.connect('ws://scripted/ws')
    const connection = await opened
    connection.push({ op: 'ready', seq: 0, session_id: 's' })
    socket.reconnectNow()
    expect(server.connections).toHaveLength(1)
    const waiting = nextEvent(socket, 'reconnecting')
    connection.close(4000, 'server_restart')
    expect((await waiting).delay).toBe(60_000)
    expect(socket.state).toBe('waiting')
    const reopened = server.nextConnection()
    socket.reconnectNow()
    await reopened
    expect(server.connections).toHaveLength(2)
  })

  it('drops a silent connection (4003) and reconnects; pings meanwhile', async () => {
    const { server, socket } = client({ pingIntervalMs: 20, deadAfterMs: 150 })
    const opened = server.nextConnection()
    void socket.connect('ws://scripted/ws')
    const connection = await opened
    connection.push({ op: 'ready', seq: 0, session_id: 's' })
    await connection.nextFrame('ping')
    const disconnected = nextEvent(socket, 'disconnected')
    const reopened = server.nextConnection()
    expect(await disconnected).toEqual({ code: 4003, reason: 'heartbeat_timeout' })
    await reopened
    expect(server.connections).toHaveLength(2)
  })

  it('rejects plain requests on disconnect but resends outbox entries with the same client_msg_id', async () => {
    const { server, socket } = client()
    const opened = server.nextConnection()
    void socket.connect('ws://scripted/ws')
    const one = await opened
    const ready = nextEvent(socket, 'ready')
    one.push({ op: 'ready', seq: 0, session_id: 's' })
    await ready

    const sendFrame = one.nextFrame('message:send')
    const sent = socket.send(7, { message_type: 'text', content: 'hi', client_msg_id: 'cm-1' })
    const firstAttempt = await sendFrame
    const editFrame = one.nextFrame('message:edit')
    const edit = socket.request('message:edit', { message_id: 1, content: 'x' })
    await editFrame
    const reopened = server.nextConnection()
    one.close(1006, '')
    await expect(edit).rejects.toMatchObject({ status: 0, code: 'service_unavailable' })
    const two = await reopened
    const resendFrame = two.nextFrame('message:send')
    two.push({ op: 'ready', seq: 0, session_id: 's' })
    const resend = await resendFrame
    expect(resend).toMatchObject({ client_msg_id: 'cm-1', chat_id: 7, content: 'hi' })
    expect(resend.id).not.toBe(firstAttempt.id)

    // A retryable error keeps it in the outbox and tries again; a final one rejects.
    const retryFrame = two.nextFrame('message:send')
    two.push({ op: 'reply', id: resend.id, ok: false, error: { code: 'internal_error', message: 'oops' } })
    const retry = await retryFrame
    expect(socket.outbox.size).toBe(1)
    const message = { id: 99, client_msg_id: 'cm-1' }
    two.push({ op: 'reply', id: retry.id, ok: true, data: { message, created: true } })
    expect(await sent).toEqual(message)
    expect(socket.outbox.size).toBe(0)

    const refusedFrame = two.nextFrame('message:send')
    const refused = socket.send(7, { message_type: 'text', content: '' })
    const frame = await refusedFrame
    two.push({ op: 'reply', id: frame.id, ok: false, error: { code: 'validation_error', message: 'empty' } })
    await expect(refused).rejects.toMatchObject({ code: 'validation_error' })
    expect(socket.outbox.size).toBe(0)
  })

  it("stops on 4500–4999 with 'closed' and rejects what is pending", async () => {
    const { server, socket } = client()
    const opened = server.nextConnection()
    void socket.connect('ws://scripted/ws')
    const connection = await opened
    connection.push({ op: 'ready', seq: 0, session_id: 's' })
    const pending = socket.send(7, { message_type: 'text', content: 'hi' })
    const closed = nextEvent(socket, 'closed')
    connection.close(4501, 'session_revoked')
    expect(await closed).toEqual({ code: 4501, reason: 'session_revoked' })
    await expect(pending).rejects.toMatchObject({ code: 'service_unavailable' })
    expect(socket.state).toBe('closed')
    expect(server.connections).toHaveLength(1)
  })
})
