import crypto from 'node:crypto'
import { Redis } from 'ioredis'
import type { Clock } from '../clock.ts'
import { type Counters, leavesInMs, type Slots, slotsOf, type WindowCount } from './counters.ts'

/**
 * One hash per key and window length: field = slot number, value = hits in that slot. The script drops
 * slots that left the window, sums the rest and, below the limit, counts the hit — all in one atomic
 * step, so parallel requests on any node cannot be admitted past the limit.
 *
 * Slots are named by their last millisecond (see counters.ts).
 * KEYS[1] the hash; ARGV: first counted ms, current slot, limit (-1: none), ttl ms, 1 = count the hit.
 * Answers { count in the window (with this hit if counted, +1 if refused), oldest counted slot or -1 }.
 */
const SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
local countedFrom = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local total = 0
local oldest = -1
local stale = {}
for i = 1, #fields, 2 do
  local slot = tonumber(fields[i])
  if slot < countedFrom then
    stale[#stale + 1] = fields[i]
  else
    total = total + tonumber(fields[i + 1])
    if oldest == -1 or slot < oldest then oldest = slot end
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
if ARGV[5] ~= '1' then return { total, oldest } end
if limit >= 0 and total >= limit then return { total + 1, oldest } end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if oldest == -1 then oldest = tonumber(ARGV[2]) end
return { total + 1, oldest }
`
const SCRIPT_SHA = crypto.createHash('sha1').update(SCRIPT).digest('hex')

export class RedisCounters implements Counters {
  private readonly redis: Redis

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 })
    this.redis.on('error', () => {})
  }

  async hit(key: string, windowMs: number, limit?: number): Promise<WindowCount> {
    return this.run(slotsOf(this.clock, key, windowMs, limit), { count: true, limit })
  }

  async peek(key: string, windowMs: number): Promise<WindowCount> {
    return this.run(slotsOf(this.clock, key, windowMs), { count: false })
  }

  async reset(key: string, windowMs: number) {
    await this.redis.del(this.prefix + slotsOf(this.clock, key, windowMs).storeKey)
  }

  async close() {
    this.redis.disconnect()
  }

  private async run(
    slots: Slots,
    options: { count: boolean; limit?: number | undefined },
  ): Promise<WindowCount> {
    const args = [
      this.prefix + slots.storeKey,
      slots.countedFrom,
      slots.currentSlotEnd,
      options.limit === undefined || !Number.isFinite(options.limit) ? -1 : options.limit,
      leavesInMs(slots, slots.currentSlotEnd),
      options.count ? 1 : 0,
    ]
    let answer: unknown
    try {
      answer = await this.redis.evalsha(SCRIPT_SHA, 1, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      answer = await this.redis.eval(SCRIPT, 1, ...args)
    }
    const [count, oldest] = Array.isArray(answer) ? answer.map(Number) : []
    if (count === undefined || oldest === undefined)
      throw new Error('unexpected answer from the counter script')
    return { count, resetInMs: oldest < 0 ? 0 : leavesInMs(slots, oldest) }
  }
}
