import { acknowledgeMany } from '../actions/receipts.ts'
import type { Deps } from '../deps.ts'

/** How long acks gather before they are applied together; a double tick trails delivery by up to this. */
export const ACK_BATCH_MS = 100

/**
 * Every socket's acks on this node, applied together every ACK_BATCH_MS in one unit of work
 * (actions/receipts.ts acknowledgeMany), one batch at a time. A user's acks merge into the highest.
 */
export class AckBatcher {
  private pending = new Map<number, number>()
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> = Promise.resolve()

  constructor(private readonly deps: Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>) {}

  /** Users with acks waiting for the next batch (leak checks). */
  get size(): number {
    return this.pending.size
  }

  add(userId: number, seq: number): void {
    this.pending.set(userId, Math.max(this.pending.get(userId) ?? 0, seq))
    this.timer ??= setTimeout(() => this.flush(), ACK_BATCH_MS)
  }

  /** Applies what is pending and waits for every batch (before the store closes). */
  async close(): Promise<void> {
    this.flush()
    await this.running
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    this.running = this.running
      .then(() => acknowledgeMany(this.deps, batch))
      .catch((error: unknown) => this.deps.log.warn({ err: error, users: batch.size }, 'acks failed'))
  }
}
