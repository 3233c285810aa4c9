import crypto from 'node:crypto'
import { ParleySocket, RestClient } from '@parley/sdk'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { freePort, type Running, spawnUntil, startServerProcess, stopProcess } from './helpers/process.ts'
import { type Frame, RawSocket } from './helpers/raw-socket.ts'

const adminUrl = process.env.PARLEY_TEST_DATABASE_URL

async function adminQuery(statement: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/** One device: a socket that is reopened on another node with its cursor when its node dies. */
class Device {
  socket!: RawSocket
  readonly received: Array<{ chatId: number; id: number; seq: number }> = []
  cursor = 0

  constructor(
    readonly name: string,
    private readonly token: string,
  ) {}

  async connect(url: string) {
    this.socket = await RawSocket.open(url, this.token, this.cursor)
    this.socket.ws.on('message', (data) => this.take(JSON.parse(data.toString()) as Frame))
    // Frames that arrived before the listener above (catch-up right after ready) are in `frames`.
    for (const frame of this.socket.frames) this.take(frame)
  }

  private take(frame: Frame) {
    if (frame.op !== 'update' || typeof frame.seq !== 'number' || frame.seq <= this.cursor) {
      if (frame.op === 'update' && typeof frame.seq === 'number') this.duplicates += 1
      return
    }
    this.cursor = frame.seq
    if (frame.type === 'message:new') {
      const data = frame.data as { chat_id: number; message: { id: number; seq: number } }
      this.received.push({ chatId: data.chat_id, id: data.message.id, seq: data.message.seq })
    }
  }
  duplicates = 0

  /** Waits (bounded) until every id in `ids` has arrived. */
  async waitFor(ids: Set<number>, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs
    while ([...ids].some((id) => !this.received.some((message) => message.id === id))) {
      const left = deadline - Date.now()
      if (left <= 0) {
        const missing = [...ids].filter((id) => !this.received.some((message) => message.id === id))
        throw new Error(`${this.name} never received messages ${missing.join(', ')}`)
      }
      await this.socket.next((frame) => frame.op === 'update', left).catch(() => undefined)
    }
  }
}

describe.skipIf(!adminUrl)('two nodes on one PostgreSQL and one Redis (real processes)', () => {
  const database = `parley_cluster_${crypto.randomBytes(5).toString('hex')}`
  let redis: Running | undefined
  let redisPort = 0
  const nodes: Running[] = []
  const startRedis = async () =>
    spawnUntil(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        ready: 'Ready to accept connections',
      },
    )

  beforeAll(async () => {
    redisPort = await freePort()
    redis = await startRedis()
    await adminQuery(`CREATE DATABASE ${database}`)
    const url = new URL(adminUrl ?? '')
    url.pathname = `/${database}`
    const env = {
      PARLEY_DATABASE_URL: url.toString(),
      PARLEY_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PARLEY_JWT_SECRET: crypto.randomBytes(32).toString('hex'),
      PARLEY_DATA_DIR: '/nonexistent-cluster-nodes-need-no-data-dir',
      PARLEY_WS_FRAMES_PER_SECOND: '1000',
    }
    // One after the other: the first applies the migrations.
    nodes.push(await startServerProcess(await freePort(), env))
    nodes.push(await startServerProcess(await freePort(), env))
  }, 60_000)

  afterAll(async () => {
    for (const node of nodes) await stopProcess(node, 'SIGKILL')
    await stopProcess(redis, 'SIGKILL')
    await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  })

  it('loses and duplicates nothing when a node is killed and Redis restarts mid-traffic', async () => {
    const [nodeA, nodeB] = nodes as [Running, Running]
    const password = 'correct horse battery staple'
    const register = async (name: string, node: Running) => {
      const client = new RestClient({ baseUrl: node.url })
      const auth = await client.auth.register({
        username: `${name}_${crypto.randomBytes(3).toString('hex')}`,
        password,
        name,
      })
      return { client, auth, id: auth.user.id }
    }
    const ada = await register('ada', nodeA)
    const bob = await register('bob', nodeB)
    const cat = await register('cat', nodeB)
    const { chat: direct } = await ada.client.chats.open(bob.id)
    const { group } = await ada.client.call<{ group: { id: number } }>('POST', '/api/groups', {
      body: { name: 'Cluster', participants: [bob.id, cat.id] },
    })

    const devices = {
      ada: new Device('ada', ada.auth.tokens.access_token),
      bob: new Device('bob', bob.auth.tokens.access_token),
      cat: new Device('cat', cat.auth.tokens.access_token),
    }
    await devices.ada.connect(nodeA.url)
    await devices.bob.connect(nodeB.url)
    await devices.cat.connect(nodeB.url)

    const acknowledged = new Map<number, number>() // message id → chat id
    const send = async (client: RestClient, chatId: number, clientMsgId: string) => {
      const { message } = await client.messages.send(chatId, {
        message_type: 'text',
        content: clientMsgId,
        client_msg_id: clientMsgId,
      })
      acknowledged.set(message.id, chatId)
      return message
    }

    // 1. Both directions, across nodes, private and group.
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => send(ada.client, i % 2 ? direct.id : group.id, `a1-${i}`)),
      ...Array.from({ length: 8 }, (_, i) => send(bob.client, i % 2 ? direct.id : group.id, `b1-${i}`)),
    ])

    // 2. Node B dies (SIGKILL) in the middle of a burst Bob sends through the SDK's outbox over a
    //    socket on node B; the outbox resends what was not answered once the socket is back (on node A).
    const burst = Array.from({ length: 40 }, (_, i) => `b2-${i}`)
    let bobNode = nodeB
    const bobSender = new ParleySocket({ WebSocket, getToken: () => bob.auth.tokens.access_token })
    await bobSender.connect(() => `${bobNode.url.replace(/^http/, 'ws')}/ws`)
    let answered = 0
    let pendingAtKill = 0
    let killing: Promise<void> | undefined
    await Promise.all(
      burst.map(async (clientMsgId, i) => {
        const chatId = i % 2 ? direct.id : group.id
        const message = await bobSender.send(chatId, {
          message_type: 'text',
          content: clientMsgId,
          client_msg_id: clientMsgId,
        })
        acknowledged.set(message.id, chatId)
        answered += 1
        if (answered === 10) {
          pendingAtKill = bobSender.outbox.size
          bobNode = nodeA
          killing = stopProcess(nodeB, 'SIGKILL')
        }
      }),
    )
    await killing
    bobSender.close()
    expect(pendingAtKill, 'the kill should interrupt the burst').toBeGreaterThan(0)
    expect(acknowledged.size).toBe(16 + burst.length)
    await devices.bob.connect(nodeA.url)
    await devices.cat.connect(nodeA.url)

    // 3. Redis restarts while messages are sent: the log is the truth, readers fill the gap.
    await stopProcess(redis, 'SIGKILL')
    for (let i = 0; i < 5; i++) await send(ada.client, i % 2 ? direct.id : group.id, `a3-${i}`)
    redis = await startRedis()
    const health = new RestClient({ baseUrl: nodeA.url })
    for (let attempt = 0; attempt < 100; attempt++) {
      const { status } = await health.raw('GET', '/health/detailed')
      if (status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 100)) // bounded poll of a readiness probe
    }
    await send(ada.client, direct.id, 'a4-after-redis')
    await send(ada.client, group.id, 'a4-after-redis-group')

    // Every acknowledged message reaches every member device exactly once, in per-chat seq order.
    const ids = (chatIds: number[]) =>
      new Set([...acknowledged].filter(([, chatId]) => chatIds.includes(chatId)).map(([id]) => id))
    await devices.ada.waitFor(ids([direct.id, group.id]))
    await devices.bob.waitFor(ids([direct.id, group.id]))
    await devices.cat.waitFor(ids([group.id]))
    for (const device of Object.values(devices)) {
      const messageIds = device.received.map((message) => message.id)
      expect(new Set(messageIds).size, `${device.name} got a duplicate`).toBe(messageIds.length)
      expect(device.duplicates, `${device.name} got a frame twice`).toBe(0)
      for (const chatId of [direct.id, group.id]) {
        const seqs = device.received
          .filter((message) => message.chatId === chatId)
          .map((message) => message.seq)
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      }
    }
    const groupOrder = (device: Device) =>
      device.received.filter((message) => message.chatId === group.id).map((message) => message.id)
    expect(groupOrder(devices.bob)).toEqual(groupOrder(devices.ada))
    expect(groupOrder(devices.cat)).toEqual(groupOrder(devices.ada))
  }, 90_000)
})
