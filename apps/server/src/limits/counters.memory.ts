import type { Clock } from '../clock.ts'
import { type Counters, currentWindow } from './counters.ts'

export class MemoryCounters implements Counters {
  private readonly counts = new Map<string, { count: number; expiresAt: number }>()
  private sweptAt = 0

  constructor(private readonly clock: Clock) {}

  async hit(key: string, windowMs: number) {
    const { bucketKey, resetInMs } = currentWindow(this.clock, key, windowMs)
    this.sweep()
    const entry = this.counts.get(bucketKey) ?? { count: 0, expiresAt: this.clock.now() + resetInMs }
    entry.count += 1
    this.counts.set(bucketKey, entry)
    return { count: entry.count, resetInMs }
  }

  async peek(key: string, windowMs: number) {
    const { bucketKey, resetInMs } = currentWindow(this.clock, key, windowMs)
    return { count: this.counts.get(bucketKey)?.count ?? 0, resetInMs }
  }

  async reset(key: string, windowMs: number) {
    this.counts.delete(currentWindow(this.clock, key, windowMs).bucketKey)
  }

  async close() {}

  /** Drops ended windows at most once a minute so the map holds only live keys. */
  private sweep() {
    const now = this.clock.now()
    if (now - this.sweptAt < 60_000) return
    this.sweptAt = now
    for (const [key, entry] of this.counts) if (entry.expiresAt <= now) this.counts.delete(key)
  }
}
