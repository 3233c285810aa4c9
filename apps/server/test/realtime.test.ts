import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { type Frame, RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const text = (content: string) => ({
  message_type: 'text' as const,
  content,
  client_msg_id: `c-${Math.random().toString(36).slice(2)}`,
})
const isEvent = (type: string, userId?: number) => (frame: Frame) =>
  frame.op === 'event' &&
  frame.type === type &&
  (userId === undefined || (frame.data as { user_id?: number }).user_id === userId)
const isMessage = (content: string) => (frame: Frame) =>
  frame.op === 'update' &&
  frame.type === 'message:new' &&
  (frame.data as { message?: { content?: string } }).message?.content === content
const eventsOf = (socket: RawSocket, type: string, userId?: number) =>
  socket.frames.filter(isEvent(type, userId))

/** Typing indicators stop on their own after this long here (5 s in production). */
const TYPING_TIMEOUT_MS = 300

describe.each(MODES)('ephemeral events: typing and presence (%s)', (mode) => {
  let server: TestServer
  const sockets: RawSocket[] = []
  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_RATE_LIMIT_PER_IP: '100000',
      PARLEY_RATE_LIMIT_PER_USER: '100000',
      PARLEY_TYPING_TIMEOUT_MS: String(TYPING_TIMEOUT_MS),
    })
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await server?.close()
  })
  const open = async (user: TestUser) => {
    const socket = await RawSocket.open(server.url, user.auth.tokens.access_token, 0)
    sockets.push(socket)
    return socket
  }
  const closeSocket = async (socket: RawSocket) => {
    socket.close()
    await socket.closed
  }
  /** Makes `a` and `b` mutual contacts (a request accepted). */
  async function befriend(a: TestUser, b: TestUser) {
    const { request } = await a.client.contacts.sendRequest({ user_id: b.id })
    await b.client.contacts.acceptRequest(request.id)
  }

  it('forwards typing to the other members online, not to the typer, a blocker or a non-member, and never logs it', async () => {
    const [ada, bob, cat, dan] = await Promise.all([
      createUser(server),
      createUser(server),
      createUser(server),
      createUser(server),
    ])
    const { group } = await ada.client.groups.create({ name: 'Typists', participants: [bob.id, cat.id] })
    await cat.client.contacts.block(ada.id)
    const [adaSocket, bobSocket, catSocket, danSocket] = await Promise.all([
      open(ada),
      open(bob),
      open(cat),
      open(dan),
    ])

    // Not a member: ignored quietly (no reply, no close, nothing forwarded).
    danSocket.send({ op: 'typing:start', chat_id: group.id })
    adaSocket.send({ op: 'typing:start', chat_id: group.id })
    const start = await bobSocket.next(isEvent('typing:start'))
    expect(start).toEqual({
      op: 'event',
      type: 'typing:start',
      data: { chat_id: group.id, user_id: ada.id },
    })
    adaSocket.send({ op: 'typing:stop', chat_id: group.id })
    expect((await bobSocket.next(isEvent('typing:stop'))).data).toEqual({
      chat_id: group.id,
      user_id: ada.id,
    })

    // A message sent after the events reaches each socket after them: nothing typing-related came.
    await bob.client.messages.send(group.id, text('after typing'))
    for (const socket of [adaSocket, catSocket]) await socket.next(isMessage('after typing'))
    for (const socket of [adaSocket, catSocket, danSocket]) {
      expect(
        socket.frames.filter((frame) => frame.op === 'event' && String(frame.type).startsWith('typing')),
      ).toEqual([])
    }
    expect(eventsOf(bobSocket, 'typing:start', dan.id)).toEqual([])
    expect(danSocket.frames.some((frame) => frame.op === 'reply')).toBe(false)
    expect(danSocket.ws.readyState).toBe(danSocket.ws.OPEN)

    // Ephemeral means not in the log.
    for (const user of [ada, bob, cat]) {
      const answer = await user.client.raw('GET', '/api/sync', { query: { since: 0 } })
      const updates = (answer.body as { updates: Array<{ type: string }> }).updates
      expect(updates.some((update) => update.type.startsWith('typing'))).toBe(false)
    }
  })

  it('stops a typing indicator on its own after the timeout, and throttles repeated starts', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const [adaSocket, bobSocket] = await Promise.all([open(ada), open(bob)])
    for (let i = 0; i < 3; i++) adaSocket.send({ op: 'typing:start', chat_id: chat.id })
    await bobSocket.next(isEvent('typing:start', ada.id))
    // No typing:stop from ada: the server sends it after the timeout (the wait is bounded, not a sleep).
    const stop = await bobSocket.next(isEvent('typing:stop', ada.id), TYPING_TIMEOUT_MS + 4000)
    expect(stop.data).toEqual({ chat_id: chat.id, user_id: ada.id })
    expect(eventsOf(bobSocket, 'typing:start', ada.id)).toHaveLength(1)
    expect(eventsOf(bobSocket, 'typing:stop', ada.id)).toHaveLength(1)
  })

  it('announces presence to contacts allowed by last-seen privacy, never across a block', async () => {
    const [ada, bob, eve, zed, yan] = await Promise.all([
      createUser(server),
      createUser(server),
      createUser(server),
      createUser(server),
      createUser(server),
    ])
    await befriend(ada, bob)
    await befriend(ada, zed)
    await befriend(ada, yan)
    // ada blocked zed; yan blocked ada: neither way may presence cross a block.
    await ada.client.contacts.block(zed.id)
    await yan.client.contacts.block(ada.id)
    await ada.client.users.updatePrivacy({ last_seen: 'contacts' })
    // eve is a stranger who has a private chat with ada; bob has chats with zed and yan (sentinels).
    const { chat: eveChat } = await eve.client.chats.open(ada.id)
    const { chat: bobZedChat } = await bob.client.chats.open(zed.id)
    const { chat: bobYanChat } = await bob.client.chats.open(yan.id)
    const [bobSocket, eveSocket, zedSocket, yanSocket] = await Promise.all([
      open(bob),
      open(eve),
      open(zed),
      open(yan),
    ])

    const adaPhone = await open(ada)
    expect(await bobSocket.next(isEvent('presence:online', ada.id))).toEqual({
      op: 'event',
      type: 'presence:online',
      data: { user_id: ada.id },
    })
    expect((await bob.client.users.get(ada.id)).user.is_online).toBe(true)
    expect((await eve.client.users.get(ada.id)).user.is_online).toBe(false)
    const bobsChats = (await bob.client.chats.list()).chats
    expect(bobsChats.find((chat) => chat.id === bobZedChat.id)?.type).toBe('private')

    // A second device changes nothing; closing one of two changes nothing.
    const adaLaptop = await open(ada)
    await closeSocket(adaPhone)
    expect((await bob.client.users.get(ada.id)).user.is_online).toBe(true)
    await closeSocket(adaLaptop)
    const offline = await bobSocket.next(isEvent('presence:offline', ada.id))
    const lastSeen = (offline.data as { last_seen_at: string }).last_seen_at
    expect(offline.data).toEqual({ user_id: ada.id, last_seen_at: lastSeen })
    expect(Number.isNaN(Date.parse(lastSeen))).toBe(false)
    expect(eventsOf(bobSocket, 'presence:online', ada.id)).toHaveLength(1)
    expect(eventsOf(bobSocket, 'presence:offline', ada.id)).toHaveLength(1)
    const seenByBob = (await bob.client.users.get(ada.id)).user
    expect(seenByBob).toMatchObject({ is_online: false, last_seen_at: lastSeen })

    // Sentinels published after the presence events: once they arrive, nothing about ada came.
    await ada.client.messages.send(eveChat.id, text('sentinel eve'))
    await bob.client.messages.send(bobZedChat.id, text('sentinel zed'))
    await bob.client.messages.send(bobYanChat.id, text('sentinel yan'))
    await eveSocket.next(isMessage('sentinel eve'))
    await zedSocket.next(isMessage('sentinel zed'))
    await yanSocket.next(isMessage('sentinel yan'))
    for (const socket of [eveSocket, zedSocket, yanSocket]) {
      expect(eventsOf(socket, 'presence:online', ada.id)).toEqual([])
      expect(eventsOf(socket, 'presence:offline', ada.id)).toEqual([])
    }
  })

  it('announces nothing when last seen is hidden from everybody, and shows no one online', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    await befriend(ada, bob)
    await ada.client.users.updatePrivacy({ last_seen: 'nobody' })
    const { chat } = await ada.client.chats.open(bob.id)
    const bobSocket = await open(bob)
    const adaSocket = await open(ada)
    expect((await bob.client.users.get(ada.id)).user.is_online).toBe(false)
    await closeSocket(adaSocket)
    await ada.client.messages.send(chat.id, text('sentinel nobody'))
    await bobSocket.next(isMessage('sentinel nobody'))
    expect(bobSocket.frames.filter((frame) => frame.op === 'event')).toEqual([])
  })

  it('shows is_online in contacts and chat views to allowed viewers', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    await befriend(ada, bob)
    const { chat } = await bob.client.chats.open(ada.id)
    const bobSocket = await open(bob)
    const adaSocket = await open(ada)
    await bobSocket.next(isEvent('presence:online', ada.id))
    const contact = (await bob.client.contacts.list()).contacts.find((entry) => entry.id === ada.id)
    expect(contact?.is_online).toBe(true)
    const view = (await bob.client.chats.get(chat.id)).chat
    expect(JSON.stringify(view)).toContain('"is_online":true')
    await closeSocket(adaSocket)
    await bobSocket.next(isEvent('presence:offline', ada.id))
    const after = (await bob.client.contacts.list()).contacts.find((entry) => entry.id === ada.id)
    expect(after?.is_online).toBe(false)
  })
})
