import type { Clock } from '../clock.ts'
import { type Counters, leavesInMs, type Slots, slotsOf, type WindowCount } from './counters.ts'

interface Entry {
  /** Hits per slot, oldest first. */
  slots: Array<{ end: number; count: number }>
  /** When the newest slot leaves the window and the entry can go. */
  expiresAt: number
}

export class MemoryCounters implements Counters {
  private readonly entries = new Map<string, Entry>()
  private sweptAt = 0

  constructor(private readonly clock: Clock) {}

  async hit(key: string, windowMs: number, limit = Number.POSITIVE_INFINITY): Promise<WindowCount> {
    this.sweep()
    const slots = slotsOf(this.clock, key, windowMs, limit)
    const entry = this.live(slots) ?? { slots: [], expiresAt: 0 }
    const total = entry.slots.reduce((sum, slot) => sum + slot.count, 0)
    if (total >= limit) return { count: total + 1, resetInMs: this.resetIn(slots, entry) }
    const last = entry.slots.at(-1)
    if (last?.end === slots.currentSlotEnd) last.count += 1
    else entry.slots.push({ end: slots.currentSlotEnd, count: 1 })
    entry.expiresAt = slots.now + leavesInMs(slots, slots.currentSlotEnd)
    this.entries.set(slots.storeKey, entry)
    return { count: total + 1, resetInMs: this.resetIn(slots, entry) }
  }

  async peek(key: string, windowMs: number): Promise<WindowCount> {
    const slots = slotsOf(this.clock, key, windowMs)
    const entry = this.live(slots)
    if (!entry) return { count: 0, resetInMs: 0 }
    return {
      count: entry.slots.reduce((sum, slot) => sum + slot.count, 0),
      resetInMs: this.resetIn(slots, entry),
    }
  }

  async reset(key: string, windowMs: number) {
    this.entries.delete(slotsOf(this.clock, key, windowMs).storeKey)
  }

  async close() {}

  /** The key's entry with slots that left the window dropped. */
  private live(slots: Slots): Entry | undefined {
    const entry = this.entries.get(slots.storeKey)
    if (!entry) return undefined
    const firstLive = entry.slots.findIndex((slot) => slot.end >= slots.countedFrom)
    if (firstLive === -1) {
      this.entries.delete(slots.storeKey)
      return undefined
    }
    if (firstLive > 0) entry.slots.splice(0, firstLive)
    return entry
  }

  private resetIn(slots: Slots, entry: Entry): number {
    const oldest = entry.slots[0]
    return oldest ? leavesInMs(slots, oldest.end) : 0
  }

  /** Drops ended entries at most once a minute so the map holds only live keys. */
  private sweep() {
    const now = this.clock.now()
    if (now - this.sweptAt < 60_000) return
    this.sweptAt = now
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key)
  }
}
