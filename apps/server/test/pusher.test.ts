import crypto from 'node:crypto'
import Pusher, { type Channel, type PresenceChannel } from 'pusher-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/** The real pusher-js client (its Node build brings its own WebSocket), pointed at the test server. */
function connect(server: TestServer, user: TestUser | null, key = 'parley'): Pusher {
  const port = Number(new URL(server.url).port)
  return new Pusher(key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: `${server.url}/broadcasting/auth`,
      transport: 'ajax',
      headers: user ? { Authorization: `Bearer ${user.auth.tokens.access_token}` } : {},
    },
  })
}

/** The next `event` on `channel` (bound before the action that causes it). */
function next<T = unknown>(
  channel: Channel,
  event: string,
  where: (data: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const handler = (data: T) => {
      if (!where(data)) return
      channel.unbind(event, handler)
      resolve(data)
    }
    channel.bind(event, handler)
  })
}

function subscribed(pusher: Pusher, name: string): Promise<Channel> {
  const channel = pusher.subscribe(name)
  return new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve(channel))
    channel.bind('pusher:subscription_error', (error: unknown) =>
      reject(new Error(`subscription to ${name} refused: ${JSON.stringify(error)}`)),
    )
  })
}

function refused(pusher: Pusher, name: string): Promise<{ type: string; status?: number; error: string }> {
  const channel = pusher.subscribe(name)
  return new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => reject(new Error(`subscribed to ${name}`)))
    channel.bind('pusher:subscription_error', resolve)
  })
}

const text = (content: string) => ({ message_type: 'text' as const, content })

describe.each(MODES)('Pusher protocol face /app/{key} with pusher-js (%s)', (mode) => {
  let server: TestServer
  const clients: Pusher[] = []
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await server?.close()
  })
  const open = (user: TestUser | null, key?: string) => {
    const client = connect(server, user, key)
    clients.push(client)
    return client
  }

  it('refuses an unknown app key with 4001', async () => {
    const client = open(null, 'not-the-key')
    const error = await new Promise<{ type: string; error?: { data?: { code?: number } } }>((resolve) =>
      client.connection.bind('error', resolve),
    )
    // pusher-js reports the handshake's pusher:error and, for 4000–4099, does not reconnect.
    expect(error).toMatchObject({ type: 'WebSocketError', error: { data: { code: 4001 } } })
  })

  it('establishes the connection and answers ping with pong', async () => {
    const client = open(null)
    await new Promise<void>((resolve) => client.connection.bind('connected', () => resolve()))
    expect(client.connection.socket_id).toMatch(/^\d+\.\d+$/)
    const pong = new Promise<void>((resolve) =>
      client.connection.bind('message', (m: { event: string }) => m.event === 'pusher:pong' && resolve()),
    )
    client.send_event('pusher:ping', {})
    await pong
  })

  it('delivers new-message on private-chat and the update on private-user for a REST send', async () => {
    const [ada, bob] = await Promise.all([
      createUser(server, { name: 'Ada' }),
      createUser(server, { name: 'Bob' }),
    ])
    const { chat } = await ada.client.chats.open(bob.id)
    const client = open(bob)
    const [chatChannel, userChannel] = await Promise.all([
      subscribed(client, `private-chat.${chat.id}`),
      subscribed(client, `private-user.${bob.id}`),
    ])
    const message = next<{ message: Record<string, unknown> }>(chatChannel, 'new-message')
    const update = next<{ seq: number; type: string }>(
      userChannel,
      'parley-update',
      (u) => u.type === 'message:new',
    )
    const sent = await ada.client.messages.send(chat.id, {
      ...text('Hello!'),
      client_msg_id: crypto.randomUUID(),
    })
    const payload = await message
    // Seed 002's fields: message.{id, sender{id, name, avatar_url}, content, message_type, sent_at}.
    expect(payload.message).toMatchObject({
      id: sent.message.id,
      sender: { id: ada.id, name: 'Ada', avatar_url: null },
      content: 'Hello!',
      message_type: 'text',
      sent_at: sent.message.sent_at,
    })
    expect((await update).seq).toBeGreaterThan(0)

    // message-status-updated when bob reads it, on ada's chat channel.
    const adaClient = open(ada)
    const adaChat = await subscribed(adaClient, `private-chat.${chat.id}`)
    const status = next<Record<string, unknown>>(
      adaChat,
      'message-status-updated',
      (s) => s.status === 'read',
    )
    await bob.client.messages.read(chat.id, sent.message.id)
    expect(await status).toMatchObject({
      message_id: sent.message.id,
      status: 'read',
      read_by: { id: bob.id, name: 'Bob' },
    })
  })

  it('refuses a channel the user may not join (403) and a forged signature (401)', async () => {
    const [ada, bob, eve] = await Promise.all([createUser(server), createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const client = open(eve)
    expect(await refused(client, `private-chat.${chat.id}`)).toMatchObject({ type: 'AuthError', status: 403 })
    expect(await refused(client, `presence-chat.${chat.id}`)).toMatchObject({ status: 403 })
    expect(await refused(client, `private-user.${ada.id}`)).toMatchObject({ status: 403 })

    // A forged auth: the server checks the HMAC on subscribe.
    const forger = connect(server, eve)
    clients.push(forger)
    await new Promise<void>((resolve) => forger.connection.bind('connected', () => resolve()))
    // The channel object only (pusher.subscribe would ask the auth endpoint, which refuses eve with 403).
    const forged = forger.channels.add(`private-chat.${chat.id}`, forger)
    const error = new Promise<{ status: number }>((resolve) =>
      forged.bind('pusher:subscription_error', resolve),
    )
    forger.send_event('pusher:subscribe', {
      channel: `private-chat.${chat.id}`,
      auth: `parley:${'0'.repeat(64)}`,
      channel_data: JSON.stringify({ user_id: ada.id, session_id: 'x' }),
    })
    expect(await error).toMatchObject({ status: 401 })
  })

  it('shares presence members and relays typing as a client event to the other member', async () => {
    const [ada, bob] = await Promise.all([
      createUser(server, { name: 'Ada' }),
      createUser(server, { name: 'Bob' }),
    ])
    const { chat } = await ada.client.chats.open(bob.id)
    const name = `presence-chat.${chat.id}`
    const adaClient = open(ada)
    const adaPresence = (await subscribed(adaClient, name)) as PresenceChannel
    expect(adaPresence.members.count).toBe(1)
    expect(adaPresence.members.me).toMatchObject({ id: ada.id, info: { name: 'Ada' } })

    const added = next<{ id: number; info: { name: string } }>(adaPresence, 'pusher:member_added')
    const bobClient = open(bob)
    const bobPresence = (await subscribed(bobClient, name)) as PresenceChannel
    expect(bobPresence.members.count).toBe(2)
    expect(await added).toMatchObject({ id: bob.id, info: { name: 'Bob' } })

    // Typing: Echo's whisper('typing') is the client event `client-typing`; ada hears it as seed 002 shows.
    const userTyping = next<Record<string, unknown>>(adaPresence, 'user-typing')
    const whisper = next<Record<string, unknown>>(adaPresence, 'client-typing')
    bobPresence.trigger('client-typing', { is_typing: true })
    expect(await userTyping).toEqual({ chat_id: chat.id, user: { id: bob.id, name: 'Bob' }, is_typing: true })
    expect(await whisper).toMatchObject({ is_typing: true })

    const removed = next<{ id: number }>(adaPresence, 'pusher:member_removed')
    bobClient.unsubscribe(name)
    expect((await removed).id).toBe(bob.id)
    expect(adaPresence.members.count).toBe(1)
  })

  it('refuses a client event on a channel the socket did not subscribe to', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const client = open(ada)
    await subscribed(client, `private-user.${ada.id}`)
    const error = new Promise<{ type: string; data?: { message?: string } }>((resolve) =>
      client.connection.bind('error', resolve),
    )
    client.send_event('client-typing', {}, `private-chat.${chat.id}`)
    expect((await error).data?.message).toMatch(/Client event rejected/)
  })
})
