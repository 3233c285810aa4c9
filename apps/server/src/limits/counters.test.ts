import crypto from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../clock.ts'
import { MemoryCounters } from './counters.memory.ts'
import { RedisCounters } from './counters.redis.ts'
import type { Counters } from './counters.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const redisUrl = process.env.PARLEY_TEST_REDIS_URL

type Build = (clock: ManualClock) => Counters
const IMPLEMENTATIONS: Array<[string, Build]> = [
  ['memory', (clock) => new MemoryCounters(clock)],
  ...(redisUrl
    ? [
        [
          'redis',
          (clock: ManualClock) =>
            new RedisCounters(redisUrl, `parley-test:${crypto.randomBytes(6).toString('hex')}:`, clock),
        ] as [string, Build],
      ]
    : []),
]

describe.each(IMPLEMENTATIONS)('sliding-window counters (%s)', (_name, build) => {
  let counters: Counters
  let clock: ManualClock
  const open = (at = Date.UTC(2026, 0, 1, 10, 0)) => {
    clock = new ManualClock(at)
    counters = build(clock)
  }
  afterEach(() => counters.close())

  it('admits up to the limit, refuses without counting the refusal, and says when to retry', async () => {
    open()
    for (let hit = 1; hit <= 3; hit++) {
      expect((await counters.hit('k', MINUTE, 3)).count).toBe(hit)
    }
    const refused = await counters.hit('k', MINUTE, 3)
    expect(refused.count).toBe(4)
    expect(refused.resetInMs).toBe(MINUTE)
    for (let again = 0; again < 5; again++) await counters.hit('k', MINUTE, 3)
    expect((await counters.peek('k', MINUTE)).count).toBe(3)
    clock.advance(refused.resetInMs - 1)
    expect((await counters.hit('k', MINUTE, 3)).count).toBe(4)
    clock.advance(1)
    expect((await counters.hit('k', MINUTE, 3)).count).toBe(1)
  })

  it('does not reset on the clock hour: a burst at 10:59 still counts at 11:00', async () => {
    open(Date.UTC(2026, 0, 1, 10, 59, 30))
    for (let hit = 0; hit < 3; hit++) await counters.hit('otp', HOUR, 3)
    clock.advance(MINUTE) // 11:00:30, a new clock hour
    const refused = await counters.hit('otp', HOUR, 3)
    expect(refused.count).toBe(4)
    clock.advance(30 * MINUTE) // 11:30:30
    expect((await counters.hit('otp', HOUR, 3)).count).toBe(4)
    clock.advance(refused.resetInMs - 30 * MINUTE) // the 10:59 hits left the window
    expect((await counters.hit('otp', HOUR, 3)).count).toBe(1)
  })

  it('never admits more than the limit in any window-long interval', async () => {
    open(Date.UTC(2026, 0, 1, 10, 0, 7))
    const admitted: number[] = []
    // One hit every 7 s for two hours: count the admitted ones in every sliding hour.
    for (let step = 0; step < (2 * HOUR) / 7000; step++) {
      if ((await counters.hit('steady', HOUR, 20)).count <= 20) admitted.push(clock.now())
      clock.advance(7000)
    }
    for (const start of admitted) {
      expect(admitted.filter((at) => at >= start && at < start + HOUR).length).toBeLessThanOrEqual(20)
    }
    // The first hour's 20 go in its first minutes; the next 20 once those have left the window.
    expect(admitted.filter((at) => at < Date.UTC(2026, 0, 1, 11, 0))).toHaveLength(20)
    expect(admitted.filter((at) => at >= Date.UTC(2026, 0, 1, 11, 0))).toHaveLength(20)
  })

  it('keeps large limits in coarse slots: never lenient, late by at most one slot', async () => {
    open(Date.UTC(2026, 0, 1, 10, 0, 0, 500))
    const admitted: number[] = []
    for (let step = 0; step < 3000; step++) {
      if ((await counters.hit('busy', MINUTE, 100)).count <= 100) admitted.push(clock.now())
      clock.advance(97)
    }
    for (const start of admitted) {
      expect(admitted.filter((at) => at >= start && at < start + MINUTE).length).toBeLessThanOrEqual(100)
    }
    // Once full, the window reopens within a slot (1 s) of the oldest hit's minute being over.
    const refused = await counters.hit('busy', MINUTE, 100)
    expect(refused.count).toBe(101)
    expect(refused.resetInMs).toBeLessThanOrEqual(MINUTE + 1000)
    expect(admitted.length).toBeGreaterThan(4 * 90)
  })

  it('admits exactly the limit out of a parallel burst', async () => {
    open()
    const answers = await Promise.all(Array.from({ length: 40 }, () => counters.hit('burst', 15 * MINUTE, 5)))
    expect(answers.filter((answer) => answer.count <= 5)).toHaveLength(5)
    expect((await counters.peek('burst', 15 * MINUTE)).count).toBe(5)
  })

  it('keeps keys and window lengths apart, counts without a limit, and resets', async () => {
    open()
    await counters.hit('a', MINUTE)
    await counters.hit('a', MINUTE)
    await counters.hit('a', HOUR)
    await counters.hit('b', MINUTE)
    expect((await counters.peek('a', MINUTE)).count).toBe(2)
    expect((await counters.peek('a', HOUR)).count).toBe(1)
    expect((await counters.peek('b', MINUTE)).count).toBe(1)
    await counters.reset('a', MINUTE)
    expect((await counters.peek('a', MINUTE)).count).toBe(0)
    expect((await counters.peek('a', HOUR)).count).toBe(1)
  })
})
