import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createUser, type TestUser } from './helpers/factories.ts'
import { clientMsgId, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/** A bounded reconnect storm (bench: `--scenario storm` with thousands). */
const SOCKETS = 500
const READY_BOUND_MS = 60_000

/** One device on the raw protocol: its cursor, and every message id it was sent with a count. */
class Device {
  ws: WebSocket | null = null
  cursor = 0
  duplicates = 0
  readonly copies = new Map<number, number>()
  constructor(
    readonly user: TestUser,
    private readonly url: string,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/ws`)
      this.ws = ws
      ws.once('open', () =>
        ws.send(
          JSON.stringify({ op: 'hello', token: this.user.auth.tokens.access_token, since: this.cursor }),
        ),
      )
      ws.once('error', reject)
      ws.once('close', (code) => reject(new Error(`closed ${code} before ready`)))
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          op: string
          seq?: number
          type?: string
          data?: { message?: { id: number } }
        }
        if (frame.op === 'ready') resolve()
        if (frame.op !== 'update' || typeof frame.seq !== 'number') return
        if (frame.seq <= this.cursor) {
          this.duplicates += 1
          return
        }
        this.cursor = frame.seq
        const id = frame.data?.message?.id
        if (frame.type === 'message:new' && id !== undefined)
          this.copies.set(id, (this.copies.get(id) ?? 0) + 1)
      })
    })
  }

  drop(): void {
    this.ws?.removeAllListeners()
    this.ws?.on('error', () => {})
    this.ws?.terminate()
  }
}

describe.each(MODES)('a reconnect storm of %s sockets (%s)'.replace('%s', String(SOCKETS)), (mode) => {
  let server: TestServer
  const devices: Device[] = []
  beforeAll(async () => {
    // All test sockets come from 127.0.0.1; a real storm comes from many addresses.
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_WS_MAX_PENDING_PER_IP: '100000' })
  })
  afterAll(async () => {
    for (const device of devices) device.drop()
    await server?.close()
  })

  it('brings every socket back with its cursor, and delivers what was sent during the storm exactly once', async () => {
    const users: TestUser[] = []
    for (let i = 0; i < SOCKETS; i += 50) {
      users.push(
        ...(await Promise.all(Array.from({ length: Math.min(50, SOCKETS - i) }, () => createUser(server)))),
      )
    }
    for (const user of users) devices.push(new Device(user, server.url))
    const pairs = Array.from({ length: 50 }, (_, i): [TestUser, TestUser] => [
      users[2 * i] as TestUser,
      users[2 * i + 1] as TestUser,
    ])
    const chats = await Promise.all(pairs.map(async ([a, b]) => (await a.client.chats.open(b.id)).chat.id))
    const bounded = <T>(work: Promise<T>, what: string) =>
      Promise.race([
        work,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`${what} not done within ${READY_BOUND_MS} ms`)),
            READY_BOUND_MS,
          ).unref(),
        ),
      ])
    await bounded(Promise.all(devices.map((device) => device.open())), 'first connect')

    // The network drops every client at once (no close handshake); all come back at once with their
    // cursors while messages are sent. What users see: a reconnect, then everything, once.
    for (const device of devices) device.drop()
    const sent: Array<{ recipient: Device; id: number }> = []
    const reconnecting = Promise.allSettled(devices.map((device) => device.open()))
    await Promise.all(
      pairs.map(async ([sender, recipient], i) => {
        const { message } = await sender.client.messages.send(
          chats[i] as number,
          text(`storm ${i}`, { client_msg_id: clientMsgId() }),
        )
        sent.push({ recipient: devices[users.indexOf(recipient)] as Device, id: message.id })
      }),
    )
    const outcomes = await bounded(reconnecting, 'the storm')
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([])

    const deadline = Date.now() + 20_000
    while (sent.some(({ recipient, id }) => !recipient.copies.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50)) // bounded poll of the devices' state
    }
    for (const { recipient, id } of sent) expect(recipient.copies.get(id), `message ${id}`).toBe(1)
    expect(devices.reduce((sum, device) => sum + device.duplicates, 0)).toBe(0)
  }, 180_000)
})
