import { type ChildProcess, fork } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Log } from './bench.ts'
import type { FromWorker, ToWorker } from './idle-worker.ts'
import type { BenchOptions } from './options.ts'
import type { BenchUser } from './population.ts'
import type { IdleResult } from './report.ts'
import { sampleServers } from './servers.ts'
import { round } from './stats.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
/** Connections per load-generator process: well under this machine's 20 000 open files per process. */
const PER_WORKER = 10_000
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The idle scenario: every user connects one device and stays connected. Half the devices connect
 * first, the server settles, then the other half: the server's memory per connection is the growth
 * between those two points divided by the second half's connections. Measured from an empty server
 * instead, the garbage of seeding the users (collected at some unknown moment) would swamp it.
 */
export async function holdIdleConnections(
  users: BenchUser[],
  urls: string[],
  options: BenchOptions,
  log: Log,
): Promise<IdleResult> {
  const workers: ChildProcess[] = []
  const errors: Record<string, number> = {}
  const half = Math.floor(users.length / 2)
  try {
    const started = performance.now()
    const first = await connectThroughWorkers(users.slice(0, half), workers, errors, log)
    log(`${first} connected; settling for ${options.warmup} s`)
    await delay(options.warmup * 1000)
    const before = await sampleServers(urls)
    const second = await connectThroughWorkers(users.slice(half), workers, errors, log)
    const connectSeconds = round((performance.now() - started) / 1000, 1)
    log(
      `${first + second} of ${users.length} connected in ${connectSeconds} s; settling for ${options.warmup} s`,
    )
    await delay(options.warmup * 1000)
    const after = await sampleServers(urls)
    for (let second = 1; second <= options.duration; second++) {
      await delay(1000)
      const sample = await sampleServers(urls)
      log(
        `  [${String(second).padStart(3)} s] ${sample.connections} connections · server rss ${(sample.rssBytes / 2 ** 20).toFixed(0)} MB`,
      )
    }
    const end = await sampleServers(urls)
    const added = after.connections - before.connections
    return {
      connections: end.connections,
      connect_seconds: connectSeconds,
      server_rss_bytes_before: before.rssBytes,
      server_rss_bytes_after: after.rssBytes,
      server_heap_used_bytes_before: before.heapUsedBytes,
      server_heap_used_bytes_after: after.heapUsedBytes,
      rss_per_connection_bytes: added <= 0 ? 0 : Math.round((after.rssBytes - before.rssBytes) / added),
      heap_per_connection_bytes:
        added <= 0 ? 0 : Math.round((after.heapUsedBytes - before.heapUsedBytes) / added),
      server_cpu_percent_idle: round(
        ((end.cpuSeconds - after.cpuSeconds) / ((end.at - after.at) / 1000)) * 100,
        1,
      ),
      errors,
    }
  } finally {
    for (const worker of workers) {
      worker.removeAllListeners('exit')
      if (worker.connected) worker.send({ type: 'stop' } satisfies ToWorker)
    }
  }
}

/** Connects `users` through child processes of PER_WORKER each; answers how many connected. */
async function connectThroughWorkers(
  users: BenchUser[],
  workers: ChildProcess[],
  errors: Record<string, number>,
  log: Log,
): Promise<number> {
  const slices: BenchUser[][] = []
  for (let i = 0; i < users.length; i += PER_WORKER) slices.push(users.slice(i, i + PER_WORKER))
  const progress = new Array<number>(slices.length).fill(0)
  let connected = 0
  await Promise.all(
    slices.map(
      (slice, index) =>
        new Promise<void>((resolve, reject) => {
          const worker = fork(path.join(here, 'idle-worker.ts'), [], {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          })
          workers.push(worker)
          worker.once('exit', (code) => reject(new Error(`idle worker exited (${code})`)))
          worker.on('message', (message: FromWorker) => {
            progress[index] = message.connected
            if (message.type === 'progress') {
              log(`  ${progress.reduce((a, b) => a + b, 0)} of ${users.length} connected`)
              return
            }
            connected += message.connected
            for (const [code, n] of Object.entries(message.errors)) errors[code] = (errors[code] ?? 0) + n
            resolve()
          })
          const start: ToWorker = {
            type: 'start',
            devices: slice.map((user) => ({ url: user.url, accessToken: user.accessToken })),
          }
          worker.send(start)
        }),
    ),
  )
  return connected
}
