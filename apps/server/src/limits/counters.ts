import type { Clock } from '../clock.ts'

/**
 * Fixed-window counters for rate limits and lock-outs, shared by every node in cluster mode.
 * Windows are aligned to the deps clock (bucket = floor(now / window)) so both implementations agree
 * and tests can move time instead of sleeping.
 */
export interface Counters {
  /** Adds one; answers the count in the current window and the milliseconds until it ends. */
  hit(key: string, windowMs: number): Promise<WindowCount>
  peek(key: string, windowMs: number): Promise<WindowCount>
  reset(key: string, windowMs: number): Promise<void>
  close(): Promise<void>
}

export interface WindowCount {
  count: number
  resetInMs: number
}

export function currentWindow(clock: Clock, key: string, windowMs: number) {
  const now = clock.now()
  const bucket = Math.floor(now / windowMs)
  return { bucketKey: `${key}:${windowMs}:${bucket}`, resetInMs: (bucket + 1) * windowMs - now }
}
