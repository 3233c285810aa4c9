import type { Message } from '@parley/protocol'
import type { BenchChat, BenchUser, SocketHooks } from './population.ts'
import { Samples } from './stats.ts'

/** Wall-clock milliseconds with sub-millisecond precision (shared by sender and recipient sockets). */
export const nowMs = () => performance.timeOrigin + performance.now()
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The counters of one stretch of load (a warm-up or a measured window); messages carry its id. */
export interface Phase {
  id: number
  sent: number
  acked: number
  failed: number
  /** Recipient devices of every message sent in this phase. */
  expected: number
  delivered: number
  duplicates: number
  /** Scheduled send time → arrival at each recipient device, ms. */
  latency: Samples
  /** Scheduled send time → the server's reply to the sender, ms. */
  ackLatency: Samples
  errors: Map<string, number>
  /** messageId * 100 000 + recipient index: a message that reaches a device twice is a duplicate. */
  seen: Set<number>
}

/** Who sends next and where: picked at random for every message. */
export interface Workload {
  pick(): { sender: BenchUser; chat: BenchChat }
  /** Whether a recipient marks this delivered message read (mixed scenario). */
  readsOnDelivery: boolean
}

export function workload(direct: BenchChat[], groups: BenchChat[], directShare: number): Workload {
  const randomOf = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T
  return {
    readsOnDelivery: direct.length > 0 && groups.length > 0,
    pick() {
      const chat =
        groups.length === 0 || (direct.length > 0 && Math.random() < directShare)
          ? randomOf(direct)
          : randomOf(groups)
      return { sender: randomOf(chat.members), chat }
    },
  }
}

export const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1)

/**
 * Sends messages open loop: each at its scheduled time whether or not earlier ones were answered, and
 * latency is measured from the scheduled time, so a stalled server (or a stalled bench) shows up in
 * the numbers instead of silently lowering the load.
 */
export class LoadDriver {
  private readonly phases = new Map<number, Phase>()
  private nextPhaseId = 1
  readonly disconnects = new Map<string, number>()
  /** Latencies since the last progress line. */
  recent = new Samples()

  constructor(private readonly workload: Workload) {}

  readonly hooks: SocketHooks = {
    onMessage: (user, message) => this.delivered(user, message),
    onDisconnect: (code) => count(this.disconnects, String(code)),
  }

  newPhase(): Phase {
    const phase: Phase = {
      id: this.nextPhaseId++,
      sent: 0,
      acked: 0,
      failed: 0,
      expected: 0,
      delivered: 0,
      duplicates: 0,
      latency: new Samples(),
      ackLatency: new Samples(),
      errors: new Map(),
      seen: new Set(),
    }
    this.phases.set(phase.id, phase)
    return phase
  }

  /** Forgets a phase: its late deliveries are no longer counted. */
  endPhase(phase: Phase): void {
    this.phases.delete(phase.id)
  }

  /**
   * Sends for `seconds` at `rate(t)` messages per second (`t` in seconds from `offset`), tagging each
   * message with `phase`.
   */
  load(phase: Phase, seconds: number, rate: (t: number) => number, offset = 0): Promise<void> {
    return new Promise((resolve) => {
      const start = nowMs()
      const end = start + seconds * 1000
      let last = start
      let due = 0
      let issued = 0
      const tick = () => {
        const now = nowMs()
        const until = Math.min(now, end)
        const before = due
        due += (rate(offset + (last - start) / 1000) * (until - last)) / 1000
        // The epsilon keeps float sums such as 0.05 s × 100/s = 4.999… from dropping the last message.
        while (issued < Math.floor(due + 1e-9)) {
          issued++
          // The moment `due` crossed this message's number, interpolated within the tick.
          const scheduled = last + ((issued - before) / (due - before)) * (until - last)
          this.sendOne(phase, scheduled)
        }
        last = until
        if (now >= end) resolve()
        else setTimeout(tick, 1)
      }
      tick()
    })
  }

  /** Waits until every send of `phase` was answered and every delivery arrived, or `timeoutMs` passed. */
  async drain(phase: Phase, timeoutMs: number): Promise<void> {
    const deadline = nowMs() + timeoutMs
    while (nowMs() < deadline) {
      if (phase.acked + phase.failed >= phase.sent && phase.delivered >= phase.expected) return
      await delay(20)
    }
  }

  private sendOne(phase: Phase, scheduled: number): void {
    const { sender, chat } = this.workload.pick()
    const socket = sender.socket
    if (!socket) throw new Error(`user ${sender.index} has no socket`)
    phase.sent++
    phase.expected += chat.members.length - 1
    socket.send(chat.id, { message_type: 'text', content: `bench:${phase.id}:${scheduled.toFixed(3)}` }).then(
      () => {
        phase.acked++
        phase.ackLatency.add(nowMs() - scheduled)
      },
      (error: unknown) => {
        phase.failed++
        count(phase.errors, (error as { code?: string }).code ?? 'error')
      },
    )
  }

  private delivered(user: BenchUser, message: Message): void {
    const content = message.content
    if (!content?.startsWith('bench:')) return
    const separator = content.indexOf(':', 6)
    const phase = this.phases.get(Number(content.slice(6, separator)))
    if (!phase) return
    const key = message.id * 100_000 + user.index
    if (phase.seen.has(key)) {
      phase.duplicates++
      return
    }
    phase.seen.add(key)
    phase.delivered++
    const latency = nowMs() - Number(content.slice(separator + 1))
    phase.latency.add(latency)
    this.recent.add(latency)
    if (this.workload.readsOnDelivery && Math.random() < 0.1) {
      user.socket
        ?.request('message:read', { chat_id: message.chat_id, message_id: message.id })
        .catch((error: unknown) => {
          count(phase.errors, `read:${(error as { code?: string }).code ?? 'error'}`)
        })
    }
  }
}
