import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from './helpers/factories.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

describe.each(MODES)('heartbeat (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, { PARLEY_WS_HEARTBEAT_MS: '100' })
  })
  afterAll(() => server?.close())

  it('drops a peer that stops answering pings and keeps one that answers', async () => {
    const user = await createUser(server)
    const token = user.auth.tokens.access_token
    const alive = await RawSocket.open(server.url, token, 0)
    const dead = await RawSocket.open(server.url, token, 0, { autoPong: false })
    let aliveClosed = false
    void alive.closed.then(() => {
      aliveClosed = true
    })
    const { code } = await dead.closed
    // The server ends a dead peer without waiting for a close handshake it would never get.
    expect([1006, 4003]).toContain(code)
    expect(aliveClosed).toBe(false)
    alive.send({ op: 'ping' })
    expect(await alive.next((frame) => frame.op === 'pong')).toEqual({ op: 'pong' })
    alive.close()
  })
})
