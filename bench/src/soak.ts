/**
 * `npm run soak -- [--minutes 30] [--users 200] [--rate 20] [--database-url URL --redis-url URL]`:
 * a bounded soak (issue 14, not in CI). Starts its own server, then for `--minutes` runs mixed traffic
 * (private messages at `--rate` per second, typing) while about 2 % of devices reconnect every second
 * (half cleanly, half by dropping the socket). Every minute it prints, and at the end writes as JSON on
 * stdout: server RSS, heap used, open handles, database size, the p99 of send → delivery, and the
 * node's per-socket/user/topic entries. After the load, every client leaves and the entries must fall
 * to zero; growth of RSS/heap/handles from minute 2 to the end is reported for a human to judge.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ParleySocket } from '@parley/sdk'
import pg from 'pg'
import WebSocket from 'ws'
import { DEFAULTS } from './options.ts'
import { type BenchUser, openPairs, seedUsers } from './population.ts'
import { startServers } from './servers.ts'
import { Samples } from './stats.ts'

const log = (line: string) => process.stderr.write(`${line}\n`)
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    minutes: { type: 'string', default: '30' },
    users: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    'database-url': { type: 'string', default: '' },
    'redis-url': { type: 'string', default: '' },
  },
})
const minutes = Number(values.minutes)
const userCount = Number(values.users)
const rate = Number(values.rate)
if (!(minutes > 0 && minutes <= 120 && userCount >= 2 && rate > 0)) {
  log(
    'usage: npm run soak -- [--minutes 1..120] [--users N≥2] [--rate R>0] [--database-url URL --redis-url URL]',
  )
  process.exit(2)
}

interface Minute {
  minute: number
  rss_bytes: number
  heap_used_bytes: number
  handles: number
  database_bytes: number
  sent: number
  delivered: number
  p99_ms: number
  sockets: number
  entries: Record<string, number>
}

/** The node's process gauges and parley_node_entries, read from /metrics. */
async function readMetrics(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text()
  const gauge = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1] ?? 0)
  const entries: Record<string, number> = {}
  for (const match of text.matchAll(/^parley_node_entries\{kind="(\w+)"\} (\d+)/gm))
    entries[match[1] as string] = Number(match[2])
  return {
    rss: gauge('parley_process_resident_memory_bytes'),
    heap: gauge('parley_nodejs_heap_size_used_bytes'),
    handles: gauge('parley_nodejs_active_handles_total'),
    sockets: gauge('parley_ws_connections'),
    entries,
  }
}

const local = await startServers({
  ...DEFAULTS,
  start: true,
  users: userCount,
  databaseUrl: values['database-url'] ?? '',
  redisUrl: values['redis-url'] ?? '',
})
const url = local.urls[0] as string
const databaseBytes = async (): Promise<number> => {
  if (!local.databaseUrl) {
    return ['parley.db', 'parley.db-wal']
      .map((file) => path.join(local.dataDir, file))
      .filter((file) => fs.existsSync(file))
      .reduce((sum, file) => sum + fs.statSync(file).size, 0)
  }
  const client = new pg.Client({ connectionString: local.databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ size: string }>(
      'select pg_database_size(current_database()) as size',
    )
    return Number(rows[0]?.size ?? 0)
  } finally {
    await client.end()
  }
}

const devices = new Map<number, ParleySocket>()
try {
  log(`server ${url} (${local.mode}); seeding ${userCount} users…`)
  const users = await seedUsers(local.urls, local.adminToken, userCount)
  const chats = await openPairs(users)
  let latency = new Samples()
  let sent = 0
  let delivered = 0
  const connect = async (user: BenchUser, since: number) => {
    const socket = new ParleySocket({ WebSocket, getToken: () => user.accessToken, since })
    socket.on('update', (update) => {
      if (update.type !== 'message:new' || update.data.message.sender_id === user.id) return
      const sentAt = Number(update.data.message.content?.split(' ')[1])
      if (Number.isFinite(sentAt)) latency.add(Date.now() - sentAt)
      delivered += 1
    })
    devices.set(user.id, socket)
    await socket.connect(`${url.replace(/^http/, 'ws')}/ws`)
  }
  for (const user of users) await connect(user, 0)
  log(`${users.length} devices connected; soaking for ${minutes} min`)

  const sender = setInterval(() => {
    const chat = chats[Math.floor(Math.random() * chats.length)]
    const from = chat?.members[Math.floor(Math.random() * 2)]
    if (!chat || !from) return
    sent += 1
    devices.get(from.id)?.typing(chat.id, true)
    void from.rest.messages
      .send(chat.id, {
        message_type: 'text',
        content: `soak ${Date.now()}`,
        client_msg_id: `s${sent}-${from.id}`,
      })
      .catch((error: unknown) => log(`  send failed: ${(error as Error).message}`))
  }, 1000 / rate)
  const churn = setInterval(() => {
    for (const user of users) {
      if (Math.random() >= 0.02) continue
      const socket = devices.get(user.id)
      const since = socket?.cursor ?? 0
      socket?.close()
      void connect(user, since).catch((error: unknown) =>
        log(`  reconnect failed: ${(error as Error).message}`),
      )
    }
  }, 1000)

  const rows: Minute[] = []
  for (let minute = 1; minute <= minutes; minute++) {
    await new Promise((resolve) => setTimeout(resolve, 60_000))
    const metrics = await readMetrics(url)
    const summary = latency.summary()
    latency = new Samples()
    const row: Minute = {
      minute,
      rss_bytes: metrics.rss,
      heap_used_bytes: metrics.heap,
      handles: metrics.handles,
      database_bytes: await databaseBytes(),
      sent,
      delivered,
      p99_ms: summary.p99,
      sockets: metrics.sockets,
      entries: metrics.entries,
    }
    rows.push(row)
    log(
      `[${String(minute).padStart(3)} min] rss ${(row.rss_bytes / 2 ** 20).toFixed(0)} MB · heap ${(row.heap_used_bytes / 2 ** 20).toFixed(0)} MB · handles ${row.handles} · db ${(row.database_bytes / 2 ** 20).toFixed(1)} MB · sent ${sent} · delivered ${delivered} · p99 ${row.p99_ms} ms · sockets ${row.sockets}`,
    )
  }
  clearInterval(sender)
  clearInterval(churn)
  for (const socket of devices.values()) socket.close()
  devices.clear()
  // Bounded wait for the node to let go of every entry once all clients left.
  let after = await readMetrics(url)
  for (let i = 0; i < 200 && Object.values(after.entries).some((count) => count > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    after = await readMetrics(url)
  }
  const base = rows[Math.min(1, rows.length - 1)]
  const last = rows.at(-1)
  const result = {
    minutes,
    users: userCount,
    rate,
    mode: local.mode,
    rows,
    growth_from_minute_2:
      base && last
        ? {
            rss_bytes: last.rss_bytes - base.rss_bytes,
            heap_used_bytes: last.heap_used_bytes - base.heap_used_bytes,
            handles: last.handles - base.handles,
          }
        : null,
    entries_after_all_left: after.entries,
    leaked: Object.values(after.entries).some((count) => count > 0),
  }
  log(`after all clients left: ${JSON.stringify(after.entries)}${result.leaked ? '  ← LEAK' : ''}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  for (const socket of devices.values()) socket.close()
  await local.stop()
}
process.exit(0)
