import { Redis } from 'ioredis'
import type { Clock } from '../clock.ts'
import { type Counters, currentWindow } from './counters.ts'

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

  async hit(key: string, windowMs: number) {
    const { bucketKey, resetInMs } = currentWindow(this.clock, key, windowMs)
    const fullKey = this.prefix + bucketKey
    const results = await this.redis
      .multi()
      .incr(fullKey)
      .pexpire(fullKey, resetInMs + 1000)
      .exec()
    const count = Number(results?.[0]?.[1] ?? 0)
    return { count, resetInMs }
  }

  async peek(key: string, windowMs: number) {
    const { bucketKey, resetInMs } = currentWindow(this.clock, key, windowMs)
    const raw = await this.redis.get(this.prefix + bucketKey)
    return { count: raw === null ? 0 : Number(raw), resetInMs }
  }

  async reset(key: string, windowMs: number) {
    await this.redis.del(this.prefix + currentWindow(this.clock, key, windowMs).bucketKey)
  }

  async close() {
    this.redis.disconnect()
  }
}
