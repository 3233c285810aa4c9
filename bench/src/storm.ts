import WebSocket from 'ws'
import type { Log } from './bench.ts'
import type { BenchOptions } from './options.ts'
import { type BenchUser, eachLimited, openPairs } from './population.ts'
import { sampleServers } from './servers.ts'
import { round } from './stats.ts'

/** What `--scenario storm` reports (bench/README.md). */
export interface StormResult {
  sockets: number
  /** First connection of every socket, all at once. */
  connect_all_ready_s: number
  connect_failures: Record<string, number>
  /** Every socket dropped at once, then reopened at once with its cursor. */
  reconnect_all_ready_s: number
  reconnect_failures: Record<string, number>
  /** Not ready within `--duration` seconds of the reconnect. */
  not_ready: number
  sent_during_storm: number
  send_failures: Record<string, number>
  /** Deliveries of the storm's messages: each expected exactly once on its recipient's socket. */
  expected_deliveries: number
  delivered: number
  missing: number
  duplicates: number
  server_rss_bytes_after: number
}

/** One device speaking the raw protocol, so the bench sees every frame and owns the cursor. */
class StormDevice {
  ws: WebSocket | null = null
  cursor = 0
  duplicates = 0
  readonly messages = new Set<number>()

  constructor(readonly user: BenchUser) {}

  /** Opens and says hello with the cursor; resolves at `ready`, rejects with a reason otherwise. */
  open(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.user.url.replace(/^http/, 'ws')}/ws`)
      this.ws = ws
      const timer = setTimeout(() => {
        ws.terminate()
        reject(new Error('timeout'))
      }, timeoutMs)
      ws.once('open', () =>
        ws.send(JSON.stringify({ op: 'hello', token: this.user.accessToken, since: this.cursor })),
      )
      ws.once('error', (error: Error & { code?: string }) => {
        clearTimeout(timer)
        reject(new Error(error.code ?? 'socket_error'))
      })
      ws.once('close', (code) => {
        clearTimeout(timer)
        reject(new Error(`close_${code}`))
      })
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          op: string
          seq?: number
          type?: string
          data?: { message?: { id?: number } }
        }
        if (frame.op === 'ready') {
          clearTimeout(timer)
          resolve()
          return
        }
        if (frame.op !== 'update' || typeof frame.seq !== 'number') return
        if (frame.seq <= this.cursor) {
          this.duplicates += 1
          return
        }
        this.cursor = frame.seq
        if (frame.type === 'message:new' && typeof frame.data?.message?.id === 'number') {
          if (this.messages.has(frame.data.message.id)) this.duplicates += 1
          this.messages.add(frame.data.message.id)
        }
      })
    })
  }

  /** Gone without a close handshake, as when a network drops every client at once. */
  drop(): void {
    this.ws?.removeAllListeners()
    this.ws?.on('error', () => {})
    this.ws?.terminate()
    this.ws = null
  }
}

/** Opens every device at once; answers seconds until all were ready, and failure counts. */
async function openAll(devices: StormDevice[], timeoutMs: number) {
  const failures: Record<string, number> = {}
  const started = performance.now()
  let last = started
  await Promise.all(
    devices.map((device) =>
      device.open(timeoutMs).then(
        () => {
          last = performance.now()
        },
        (error: Error) => {
          failures[error.message] = (failures[error.message] ?? 0) + 1
        },
      ),
    ),
  )
  return { seconds: round((last - started) / 1000, 2), failures }
}

/**
 * `--scenario storm` (issue 14): every user's socket connects at once; then all are dropped and all
 * reconnect at once, each with its cursor, while messages are sent in private chats; reports the time
 * until all are ready again, handshake failures, and whether each message sent during the storm reached
 * its recipient exactly once.
 */
export async function runStorm(users: BenchUser[], urls: string[], options: BenchOptions, log: Log) {
  const chats = await openPairs(users)
  const devices = users.map((user) => new StormDevice(user))
  const byUser = new Map(devices.map((device) => [device.user.id, device]))
  const timeoutMs = options.duration * 1000
  log(`connecting ${devices.length} sockets at once…`)
  const first = await openAll(devices, timeoutMs)
  log(`  all ready in ${first.seconds} s; failures ${JSON.stringify(first.failures)}`)

  log('dropping every socket, reconnecting all at once with cursors, sending during the storm…')
  for (const device of devices) device.drop()
  const sendFailures: Record<string, number> = {}
  const expected: Array<{ recipient: number; messageId: number }> = []
  const storm = openAll(devices, timeoutMs)
  const sending = eachLimited(chats.slice(0, Math.min(chats.length, options.rate)), 16, async (chat, i) => {
    const [sender, recipient] = chat.members as [BenchUser, BenchUser]
    try {
      const { message } = await sender.rest.messages.send(chat.id, {
        message_type: 'text',
        content: `storm ${i}`,
        client_msg_id: `storm-${chat.id}-${i}`,
      })
      expected.push({ recipient: recipient.id, messageId: message.id })
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error'
      sendFailures[code] = (sendFailures[code] ?? 0) + 1
    }
  })
  const [reconnect] = await Promise.all([storm, sending])
  log(`  all ready in ${reconnect.seconds} s; failures ${JSON.stringify(reconnect.failures)}`)

  // Deliveries settle after ready (catch-up, then live): wait for them, bounded.
  const deadline = Date.now() + 15_000
  const missing = () =>
    expected.filter(({ recipient, messageId }) => !byUser.get(recipient)?.messages.has(messageId)).length
  while (missing() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await sampleServers(urls).catch(() => null)
  const result: StormResult = {
    sockets: devices.length,
    connect_all_ready_s: first.seconds,
    connect_failures: first.failures,
    reconnect_all_ready_s: reconnect.seconds,
    reconnect_failures: reconnect.failures,
    not_ready: reconnect.failures.timeout ?? 0,
    sent_during_storm: expected.length,
    send_failures: sendFailures,
    expected_deliveries: expected.length,
    delivered: expected.length - missing(),
    missing: missing(),
    duplicates: devices.reduce((sum, device) => sum + device.duplicates, 0),
    server_rss_bytes_after: after?.rssBytes ?? 0,
  }
  for (const device of devices) device.drop()
  return result
}

export function describeStorm(result: StormResult): string {
  return [
    `  first connect: all ${result.sockets} ready in ${result.connect_all_ready_s} s, failures ${JSON.stringify(result.connect_failures)}`,
    `  reconnect storm: ready in ${result.reconnect_all_ready_s} s, failures ${JSON.stringify(result.reconnect_failures)}, not ready ${result.not_ready}`,
    `  sent during the storm ${result.sent_during_storm} (failures ${JSON.stringify(result.send_failures)}): delivered ${result.delivered}/${result.expected_deliveries}, missing ${result.missing}, duplicates ${result.duplicates}`,
  ].join('\n')
}
