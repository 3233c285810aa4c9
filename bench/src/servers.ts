import { type ChildProcess, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { BenchOptions } from './options.ts'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const mainScript = path.join(repoRoot, 'apps/server/src/main.ts')

/** Servers the bench started itself (`--start`): stopped, with their data, by `stop()`. */
export interface LocalServers {
  urls: string[]
  adminToken: string
  /** A short description for the report, e.g. "sqlite" or "2 nodes, postgres+redis". */
  mode: string
  stop(): Promise<void>
  /** The embedded server's data dir (the soak measures the database file in it). */
  dataDir: string
  /** The fresh PostgreSQL database, or '' for SQLite. */
  databaseUrl: string
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no free port')),
      )
    })
  })
}

/** Spawns one server and waits until its /health answers (it logs only warnings, so there is no line to wait for). */
async function spawnServer(port: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainScript], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PARLEY_HOST: '127.0.0.1', PARLEY_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
      )
    }
    const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
      (response) => response.ok,
      () => false,
    )
    if (healthy) {
      child.stdout?.off('data', collect)
      child.stderr?.off('data', collect)
      // From here on the server logs only warnings and errors: show them.
      child.stdout?.pipe(process.stderr)
      child.stderr?.pipe(process.stderr)
      return child
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`the server did not answer /health within 30 s:\n${output}`)
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/**
 * Starts `options.nodes` fresh servers on free ports: embedded SQLite in a temporary data dir, or a
 * fresh PostgreSQL database (plus Redis) when `databaseUrl` is given. Rate limits are lifted and the
 * per-socket frame limit raised, since one bench user sends far more than a person would.
 */
export async function startServers(options: BenchOptions): Promise<LocalServers> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'))
  const adminToken = crypto.randomBytes(32).toString('hex')
  let database: { admin: string; name: string } | null = null
  let databaseUrl = ''
  if (options.databaseUrl) {
    const name = `parley_bench_${process.pid}_${Date.now()}`
    await withPg(options.databaseUrl, (client) => client.query(`CREATE DATABASE ${name}`))
    database = { admin: options.databaseUrl, name }
    const url = new URL(options.databaseUrl)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
  }
  const env: NodeJS.ProcessEnv = {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_DATABASE_URL: databaseUrl,
    PARLEY_REDIS_URL: options.redisUrl,
    PARLEY_ADMIN_TOKEN: adminToken,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_RATE_LIMIT_PER_IP: '1000000000',
    PARLEY_RATE_LIMIT_PER_USER: '1000000000',
    PARLEY_WS_FRAMES_PER_SECOND: '1000',
    // Every bench socket comes from 127.0.0.1; in production a storm comes from many addresses.
    PARLEY_WS_MAX_PENDING_PER_IP: '1000000',
    PARLEY_ACCESS_TOKEN_TTL: '86400',
    PARLEY_MAX_GROUP_SIZE: String(Math.max(1024, options.groupSize)),
  }
  const children: ChildProcess[] = []
  const stop = async () => {
    await Promise.all(children.map(stopServer))
    if (database) {
      const { admin, name } = database
      await withPg(admin, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(
        () => undefined,
      )
    }
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const urls: string[] = []
    // One at a time: the first node runs the migrations.
    for (let node = 0; node < options.nodes; node++) {
      const port = await freePort()
      children.push(await spawnServer(port, env))
      urls.push(`http://127.0.0.1:${port}`)
    }
    const store = databaseUrl ? (options.redisUrl ? 'postgres+redis' : 'postgres') : 'sqlite'
    const mode = options.nodes > 1 ? `${options.nodes} nodes, ${store}` : store
    return { urls, adminToken, mode, stop, dataDir, databaseUrl }
  } catch (error) {
    await stop()
    throw error
  }
}

async function withPg<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** What the bench reads from each node's `/metrics`, summed over the nodes. */
export interface ServerSample {
  /** process CPU seconds (user + system). */
  cpuSeconds: number
  rssBytes: number
  heapUsedBytes: number
  connections: number
  /** When the sample was taken (performance.now(), ms). */
  at: number
}

const METRIC_NAMES = {
  cpuSeconds: 'parley_process_cpu_seconds_total',
  rssBytes: 'parley_process_resident_memory_bytes',
  heapUsedBytes: 'parley_nodejs_heap_size_used_bytes',
  connections: 'parley_ws_connections',
} as const

export async function sampleServers(urls: string[]): Promise<ServerSample> {
  const sample: ServerSample = { cpuSeconds: 0, rssBytes: 0, heapUsedBytes: 0, connections: 0, at: 0 }
  const texts = await Promise.all(
    urls.map(async (url) => {
      // A server with PARLEY_METRICS_TOKEN wants it; without one, /metrics answers loopback clients only.
      const token = process.env.PARLEY_METRICS_TOKEN
      const response = await fetch(
        `${url}/metrics`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      )
      if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`)
      return response.text()
    }),
  )
  sample.at = performance.now()
  for (const text of texts) {
    for (const line of text.split('\n')) {
      for (const [key, name] of Object.entries(METRIC_NAMES) as Array<[keyof typeof METRIC_NAMES, string]>) {
        if (line.startsWith(`${name} `)) sample[key] += Number(line.slice(name.length + 1))
      }
    }
  }
  return sample
}
