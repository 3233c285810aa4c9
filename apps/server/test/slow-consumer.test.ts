import type net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from './helpers/factories.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

describe.each(MODES)('a slow consumer (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_WS_MAX_BUFFERED_BYTES: '65536',
      ...NO_RATE_LIMITS,
    })
  })
  afterAll(() => server?.close())

  it('is closed with 4001 instead of holding the server, and resumes from its cursor', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const reader = await RawSocket.open(server.url, bob.auth.tokens.access_token, 0)
    // Stop reading: the kernel buffers fill, then the server's unsent bytes pass the bound.
    const tcp = Reflect.get(reader.ws, '_socket') as net.Socket
    tcp.pause()
    const content = 'x'.repeat(10_000)
    const total = 1500 // ~15 MB of frames: more than loopback socket buffers hold
    for (let batch = 0; batch < total; batch += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          ada.client.messages.send(chat.id, {
            message_type: 'text',
            content,
            client_msg_id: `slow-${batch + i}`,
          }),
        ),
      )
    }
    tcp.resume()
    expect(await reader.closed).toMatchObject({ code: 4001, reason: 'slow_consumer' })
    const got = reader.updates().filter((update) => update.type === 'message:new')
    expect(got.length).toBeLessThan(total)

    // It resumes from its cursor and gets the rest, once each.
    const cursor = reader.updates().at(-1)?.seq ?? 0
    const again = await RawSocket.open(server.url, bob.auth.tokens.access_token, cursor)
    while (got.length + again.updates().filter((update) => update.type === 'message:new').length < total) {
      await again.next((frame) => frame.op === 'update', 10_000)
    }
    const seqs = [...reader.updates(), ...again.updates()].map((update) => update.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
    again.close()
  }, 120_000)
})
