import { Redis } from 'ioredis'
import type { Presence } from './presence.ts'

/** How long a node's registrations live without a refresh: a crashed node's sockets expire after this. */
export const PRESENCE_TTL_MS = 60_000
const REFRESH_MS = 20_000

// KEYS[1] the user's sorted set; ARGV: now, expiry, connection id. Drops expired members, adds this
// one, answers the number of live members (1 = first socket anywhere).
const CONNECT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])`
// Answers 1 when the removed member was there and none is left (the last socket), else 0.
const DISCONNECT = `
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`

/**
 * Cluster presence. Per user a sorted set `{prefix}{userId}` of connection ids scored by expiry time
 * (ms). Each node re-scores the connections it holds every 20 s; a node that dies stops refreshing
 * and its connections count as gone 60 s later (no `presence:offline` is emitted for them — readers
 * simply stop seeing the user online). Scores use each node's wall clock; keep nodes NTP-synced.
 */
export class RedisPresence implements Presence {
  private readonly redis: Redis
  /** The connections this node holds, for the refresh. */
  private readonly local = new Map<string, number>()
  private readonly refresh: NodeJS.Timeout

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 })
    this.redis.on('error', () => {})
    this.refresh = setInterval(() => void this.refreshLocal().catch(() => {}), REFRESH_MS)
    this.refresh.unref()
  }

  private key(userId: number): string {
    return `${this.prefix}${userId}`
  }

  async connect(userId: number, connectionId: string): Promise<number> {
    this.local.set(connectionId, userId)
    const now = Date.now()
    const count = await this.redis.eval(
      CONNECT,
      1,
      this.key(userId),
      now,
      now + PRESENCE_TTL_MS,
      connectionId,
      PRESENCE_TTL_MS,
    )
    return Number(count)
  }

  async disconnect(userId: number, connectionId: string): Promise<boolean> {
    this.local.delete(connectionId)
    const last = await this.redis.eval(DISCONNECT, 1, this.key(userId), Date.now(), connectionId)
    return last === 1
  }

  async onlineOf(userIds: readonly number[]): Promise<Set<number>> {
    const ids = [...new Set(userIds)]
    if (ids.length === 0) return new Set()
    const now = Date.now()
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.zcount(this.key(id), `(${now}`, '+inf')
    const results = (await pipeline.exec()) ?? []
    return new Set(ids.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0))
  }

  private async refreshLocal(): Promise<void> {
    if (this.local.size === 0) return
    const expiry = Date.now() + PRESENCE_TTL_MS
    const pipeline = this.redis.pipeline()
    for (const [connectionId, userId] of this.local) {
      pipeline.zadd(this.key(userId), 'XX', expiry, connectionId)
      pipeline.pexpire(this.key(userId), PRESENCE_TTL_MS)
    }
    await pipeline.exec()
  }

  async close(): Promise<void> {
    clearInterval(this.refresh)
    this.redis.disconnect()
  }
}
