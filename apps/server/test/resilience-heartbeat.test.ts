import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from './helpers/factories.ts'
import { text } from './helpers/messaging.ts'
import { type Frame, RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const HEARTBEAT_MS = 200

const isPresence = (type: string, userId: number) => (frame: Frame) =>
  frame.op === 'event' && frame.type === type && (frame.data as { user_id?: number }).user_id === userId

/** Opens a socket and keeps hold of its TCP stream, so the test can make the client go silent. */
async function openWithTcp(url: string, token: string): Promise<{ socket: RawSocket; tcp: Socket }> {
  const socket = new RawSocket(url)
  const tcp = await new Promise<Socket>((resolve, reject) => {
    socket.ws.once('upgrade', (response) => resolve(response.socket))
    socket.ws.once('error', reject)
  })
  await new Promise<void>((resolve) =>
    socket.ws.readyState === socket.ws.OPEN ? resolve() : socket.ws.once('open', () => resolve()),
  )
  socket.send({ op: 'hello', token, since: 0 })
  await socket.next((frame) => frame.op === 'ready')
  return { socket, tcp }
}

describe.each(MODES)('half-open TCP: a client that vanishes without FIN (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, { PARLEY_WS_HEARTBEAT_MS: String(HEARTBEAT_MS) })
  })
  afterAll(() => server?.close())

  it('is dropped by the heartbeat, goes offline for its watchers, and loses nothing sent meanwhile', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const adaSocket = await RawSocket.open(server.url, ada.auth.tokens.access_token, 0)
    const bob1 = await openWithTcp(server.url, bob.auth.tokens.access_token)
    await adaSocket.next(isPresence('presence:online', bob.id))

    // Bob's device freezes (a phone in a tunnel, a laptop lid shut): its TCP stream is still there, the
    // kernel may even acknowledge bytes, but nothing reads pings or answers them, and no FIN comes.
    bob1.tcp.pause()
    const { message: duringSilence } = await ada.client.messages.send(chat.id, text('while you were away'))

    // What ada sees: bob goes offline within a few heartbeat intervals (one missed interval closes the
    // socket; the bound here is ten), with a last seen.
    const offline = await adaSocket.next(isPresence('presence:offline', bob.id), HEARTBEAT_MS * 10)
    expect((offline.data as { last_seen_at: string }).last_seen_at).toEqual(expect.any(String))
    expect((await ada.client.users.get(bob.id)).user.is_online).toBe(false)

    // What is true after: bob's next connection (with his cursor, 0 here) gets the message once.
    bob1.tcp.destroy()
    const bob2 = await RawSocket.open(server.url, bob.auth.tokens.access_token, 0)
    await bob2.next(
      (frame) =>
        frame.op === 'update' &&
        (frame.data as { message?: { id?: number } }).message?.id === duringSilence.id,
    )
    const copies = bob2
      .updates()
      .filter((update) => (update.data as { message?: { id?: number } }).message?.id === duringSilence.id)
    expect(copies.map((update) => update.type)).toEqual(['message:new'])
    await adaSocket.next(isPresence('presence:online', bob.id))
    adaSocket.close()
    bob2.close()
  })
})
