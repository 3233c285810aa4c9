import crypto from 'node:crypto'
import { RestClient } from '@parley/sdk'
import pg from 'pg'
import { freePort, type Running, spawnUntil, startServerProcess, stopProcess } from './process.ts'
import { type Frame, RawSocket } from './raw-socket.ts'

/** The shared PostgreSQL the cluster tests create their own database in (CI sets it). */
export const clusterAdminUrl = process.env.PARLEY_TEST_DATABASE_URL

export async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/** A throw-away redis-server on a free loopback port, no persistence. */
export async function startRedis(port: number): Promise<Running> {
  return spawnUntil(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { ready: 'Ready to accept connections', url: `redis://127.0.0.1:${port}` },
  )
}

export interface Cluster {
  nodes: Running[]
  redis: Running
  redisPort: number
  env: NodeJS.ProcessEnv
  /** Starts one more node on the same database and Redis. */
  addNode(): Promise<Running>
  restartRedis(): Promise<void>
  stop(): Promise<void>
}

/**
 * `count` real server processes (`node main.ts`) on a fresh database of the shared PostgreSQL and a
 * private Redis, started one after the other (the first applies the migrations).
 */
export async function startCluster(count: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<Cluster> {
  if (!clusterAdminUrl) throw new Error('cluster tests need PARLEY_TEST_DATABASE_URL')
  const adminUrl = clusterAdminUrl
  const database = `parley_resil_${crypto.randomBytes(5).toString('hex')}`
  const redisPort = await freePort()
  let redis = await startRedis(redisPort)
  await adminQuery(adminUrl, `CREATE DATABASE ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const env: NodeJS.ProcessEnv = {
    PARLEY_DATABASE_URL: url.toString(),
    PARLEY_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    PARLEY_JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    PARLEY_DATA_DIR: '/nonexistent-cluster-nodes-need-no-data-dir',
    PARLEY_WS_FRAMES_PER_SECOND: '1000',
    ...extraEnv,
  }
  const nodes: Running[] = []
  const cluster: Cluster = {
    nodes,
    get redis() {
      return redis
    },
    redisPort,
    env,
    async addNode() {
      const node = await startServerProcess(await freePort(), env)
      nodes.push(node)
      return node
    },
    async restartRedis() {
      await stopProcess(redis, 'SIGKILL')
      redis = await startRedis(redisPort)
    },
    async stop() {
      for (const node of nodes) {
        node.child.kill('SIGCONT')
        await stopProcess(node, 'SIGKILL')
      }
      redis.child.kill('SIGCONT')
      await stopProcess(redis, 'SIGKILL')
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    },
  }
  try {
    for (let i = 0; i < count; i++) await cluster.addNode()
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}

/** Registers a user through `node`; answers a REST client signed in as them. */
export async function registerOn(node: Running, name: string) {
  const client = new RestClient({ baseUrl: node.url })
  const auth = await client.auth.register({
    username: `${name}_${crypto.randomBytes(3).toString('hex')}`,
    password: 'correct horse battery staple',
    name,
  })
  return { client, auth, id: auth.user.id, token: auth.tokens.access_token }
}

/** Polls `probe` (a readiness check, not a sleep for ordering) until it answers true, at most `timeoutMs`. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * One device on the raw socket protocol: counts every `message:new` it is sent, by message id, and
 * every update frame at or below its cursor (a duplicate on the wire), and reconnects with its cursor.
 */
export class WireDevice {
  socket: RawSocket | null = null
  cursor = 0
  duplicates = 0
  readonly copies = new Map<number, number>()

  constructor(private readonly token: string) {}

  async connect(url: string): Promise<void> {
    this.socket = await RawSocket.open(url, this.token, this.cursor)
    for (const frame of this.socket.frames) this.take(frame)
    this.socket.ws.on('message', (data) => this.take(JSON.parse(data.toString()) as Frame))
  }

  private take(frame: Frame): void {
    if (frame.op !== 'update' || typeof frame.seq !== 'number') return
    if (frame.seq <= this.cursor) {
      this.duplicates += 1
      return
    }
    this.cursor = frame.seq
    this.socket?.send({ op: 'ack', seq: frame.seq })
    if (frame.type !== 'message:new') return
    const id = (frame.data as { message: { id: number } }).message.id
    this.copies.set(id, (this.copies.get(id) ?? 0) + 1)
  }

  has(ids: Iterable<number>): boolean {
    for (const id of ids) if (!this.copies.has(id)) return false
    return true
  }
}
