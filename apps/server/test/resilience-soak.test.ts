import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { clientMsgId, text } from './helpers/messaging.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * The CI version of the soak (`npm run soak` is not written yet, see docs/operations.md): about a
 * minute of mixed traffic with reconnects, clean and abrupt closes and typing, then every client
 * leaves. What must be true after: everything the node keeps per socket, user or topic is back to zero,
 * and no timer or socket is left behind.
 */
const CHURN_MS = 40_000
const USERS = 24

async function nodeEntries(server: TestServer): Promise<Record<string, number>> {
  const { body } = await server.client().raw('GET', '/metrics')
  const entries: Record<string, number> = {}
  for (const match of String(body).matchAll(/^parley_node_entries\{kind="(\w+)"\} (\d+)/gm)) {
    entries[match[1] as string] = Number(match[2])
  }
  return entries
}

const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

describe.each(MODES)('soak: no growth after mixed traffic and reconnects (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_WS_MAX_PENDING_PER_IP: '1000' })
  })
  afterAll(() => server?.close())

  it('returns every per-socket, per-user and per-topic entry to zero once all clients left', async () => {
    const users: TestUser[] = await Promise.all(Array.from({ length: USERS }, () => createUser(server)))
    const chats: number[] = []
    for (let i = 0; i + 1 < USERS; i += 2) {
      const [a, b] = [users[i] as TestUser, users[i + 1] as TestUser]
      chats.push((await a.client.chats.open(b.id)).chat.id)
    }
    const owners = chats.map((_, i) => users[2 * i] as TestUser)
    const baselineTimers = activeTimers()
    const initial = await nodeEntries(server)
    expect(Object.keys(initial).length).toBeGreaterThan(0)

    const deadline = Date.now() + CHURN_MS
    let round = 0
    while (Date.now() < deadline) {
      round += 1
      const sockets = await Promise.all(
        users.map((user) => RawSocket.open(server.url, user.auth.tokens.access_token, 0)),
      )
      await Promise.all(
        chats.map(async (chatId, i) => {
          const socket = sockets[2 * i] as RawSocket
          socket.send({ op: 'typing:start', chat_id: chatId })
          await owners[i]?.client.messages.send(
            chatId,
            text(`round ${round}`, { client_msg_id: clientMsgId() }),
          )
        }),
      )
      for (const [i, socket] of sockets.entries()) {
        const last = socket.updates().at(-1)
        if (last) socket.send({ op: 'ack', seq: last.seq })
        // Half leave cleanly, half vanish (terminate: no close handshake).
        if (i % 2 === 0) socket.close()
        else socket.ws.terminate()
      }
      await Promise.all(sockets.map((socket) => socket.closed))
    }

    // After: bounded wait until the node has let go of everything (closes are processed async).
    const settled = Date.now() + 20_000
    let entries = await nodeEntries(server)
    while (Object.values(entries).some((count) => count > 0) && Date.now() < settled) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      entries = await nodeEntries(server)
    }
    expect(round).toBeGreaterThan(2)
    expect(entries).toEqual(Object.fromEntries(Object.keys(entries).map((kind) => [kind, 0])))
    // Timers: the hello timeouts, typing auto-stops and token expiry timers of every socket are gone.
    // The pool's idle connections (PostgreSQL) keep a 10 s timer each until they are closed: wait for
    // them too, bounded.
    const timersSettled = Date.now() + 20_000
    while (activeTimers() > baselineTimers + 2 && Date.now() < timersSettled) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(activeTimers()).toBeLessThanOrEqual(baselineTimers + 2)
  }, 120_000)
})
