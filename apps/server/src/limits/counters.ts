import type { Clock } from '../clock.ts'

/**
 * Sliding-window counters for rate limits and lock-outs, shared by every node in cluster mode
 * (ADR 0008). A hit counts for exactly `windowMs` after it happened, so no interval of `windowMs` ever
 * admits more than `limit` hits, whatever the clock hour. Hits are kept per slot: for limits up to
 * {@link SLOTS_PER_WINDOW} a slot is one millisecond (an exact log of at most `limit` entries); for
 * larger limits a window has {@link SLOTS_PER_WINDOW} slots and a hit counts until `windowMs` after
 * its slot's end (strict by at most one slot, never lenient). Times come from the deps clock, so both
 * implementations agree and tests can move time instead of sleeping.
 */
export interface Counters {
  /**
   * Counts one hit if fewer than `limit` are in the window (no `limit`: always), atomically, so
   * parallel callers can never be admitted past it. Answers the count including this hit (`limit + 1`
   * when refused: a refused hit is not recorded) and the milliseconds until the oldest counted hit
   * leaves the window, which is when a refused caller may retry.
   */
  hit(key: string, windowMs: number, limit?: number): Promise<WindowCount>
  peek(key: string, windowMs: number): Promise<WindowCount>
  reset(key: string, windowMs: number): Promise<void>
  close(): Promise<void>
}

export interface WindowCount {
  count: number
  resetInMs: number
}

export const SLOTS_PER_WINDOW = 60

/** Where a hit goes, and which stored slots still count. Slots are named by their last millisecond. */
export interface Slots {
  /** Where the counts of this key and window length live. */
  storeKey: string
  /** The last millisecond of the slot `now` falls in. */
  currentSlotEnd: number
  /** Slots that ended before this have left the window. */
  countedFrom: number
  now: number
  windowMs: number
}

export function slotsOf(
  clock: Clock,
  key: string,
  windowMs: number,
  limit = Number.POSITIVE_INFINITY,
): Slots {
  const now = clock.now()
  const slotMs = limit <= SLOTS_PER_WINDOW ? 1 : Math.max(1, Math.ceil(windowMs / SLOTS_PER_WINDOW))
  return {
    storeKey: `${key}:${windowMs}`,
    currentSlotEnd: (Math.floor(now / slotMs) + 1) * slotMs - 1,
    countedFrom: now - windowMs + 1,
    now,
    windowMs,
  }
}

/** Milliseconds until hits of the slot ending at `slotEnd` stop counting. */
export function leavesInMs(slots: Slots, slotEnd: number): number {
  return slotEnd + slots.windowMs - slots.now
}
