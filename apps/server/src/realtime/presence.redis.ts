import crypto from 'node:crypto'
import { Redis } from 'ioredis'
import type { Presence, PresenceUpkeep } from './presence.ts'

// Every score and lease is stamped with Redis's own clock (TIME), never a node's: a node whose wall
// clock jumps (NTP step, a VM resumed) can then neither expire its peers' sockets early nor keep its
// own alive for ever.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

// KEYS: the user's sorted set, this node's hash. ARGV: connection id, user id, ttl. Drops expired
// members, adds this one, answers the number of live members (1 = first socket anywhere).
const CONNECT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])`

// KEYS: the user's sorted set, this node's hash. ARGV: connection id. Answers 1 when the removed
// member was there and none is left (the last socket), else 0.
const DISCONNECT = `${NOW}
redis.call('HDEL', KEYS[2], ARGV[1])
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`

// KEYS: user sorted sets. Answers, per key, the number of live members.
const ONLINE = `${NOW}
local counts = {}
for i, key in ipairs(KEYS) do counts[i] = redis.call('ZCOUNT', key, '(' .. now, '+inf') end
return counts`

// KEYS: the nodes' lease set. ARGV: node id, lease, ttl, user key prefix, then (user id, connection id)
// pairs this node holds. Answers 1 when the lease was still held (the sockets are re-stamped), 2 when it
// was held but had run out unclaimed (Redis or this node was frozen: the others may be just as late, so
// claim nobody this round), 0 when it had been lost (claimed by another node, or Redis forgot it): the
// caller registers its sockets again.
const RENEW = `${NOW}
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if not held then return 0 end
local state = 1
if tonumber(held) <= now then state = 2 end
local ttl = tonumber(ARGV[3])
for i = 5, #ARGV, 2 do
  local key = ARGV[4] .. ARGV[i]
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return state`

// KEYS: the nodes' lease set. ARGV: user key prefix, node hash prefix. Claims one node whose lease ran
// out: removes its lease and its sockets in one step (so no other node claims it too, and a node that
// comes back afterwards finds its lease lost and registers again). Answers the users left with no
// socket anywhere, or false when no lease has run out.
const CLAIM = `${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)[1]
if not dead then return false end
redis.call('ZREM', KEYS[1], dead)
local hash = ARGV[2] .. dead
local entries = redis.call('HGETALL', hash)
redis.call('DEL', hash)
local offline = {}
for i = 1, #entries, 2 do
  local key = ARGV[1] .. entries[i + 1]
  if redis.call('ZREM', key, entries[i]) == 1 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) == 0 then offline[#offline + 1] = entries[i + 1] end
  end
end
return offline`

/**
 * Cluster presence. Per user a sorted set `{prefix}{userId}` of connection ids scored by expiry (Redis
 * time, ms). Per node a lease (`{prefix}nodes`, scored by expiry) and a hash `{prefix}node:{id}` of the
 * sockets it registered. `maintain` (every lease/3) renews the lease and re-stamps the node's sockets;
 * a node whose lease runs out is claimed by one surviving node, which removes its sockets and announces
 * the users left with none offline (lease + at most lease/3 after the crash). The per-socket expiry
 * (3 leases) is the fallback that keeps a whole cluster that died from counting users online for ever.
 */
export class RedisPresence implements Presence {
  private readonly redis: Redis
  readonly nodeId = crypto.randomUUID()
  /** The connections this node holds: re-stamped by `maintain`, registered again when the lease was lost. */
  private readonly local = new Map<string, number>()
  private readonly ttlMs: number

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly leaseMs: number,
  ) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 })
    this.redis.on('error', () => {})
    this.ttlMs = leaseMs * 3
  }

  private key(userId: number | string): string {
    return `${this.prefix}${userId}`
  }

  private get nodesKey(): string {
    return `${this.prefix}nodes`
  }

  private get nodeHashPrefix(): string {
    return `${this.prefix}node:`
  }

  private get nodeHash(): string {
    return `${this.nodeHashPrefix}${this.nodeId}`
  }

  async connect(userId: number, connectionId: string): Promise<number> {
    this.local.set(connectionId, userId)
    const count = await this.redis.eval(
      CONNECT,
      2,
      this.key(userId),
      this.nodeHash,
      connectionId,
      userId,
      this.ttlMs,
    )
    return Number(count)
  }

  async disconnect(userId: number, connectionId: string): Promise<boolean> {
    this.local.delete(connectionId)
    const last = await this.redis.eval(DISCONNECT, 2, this.key(userId), this.nodeHash, connectionId)
    return last === 1
  }

  async onlineOf(userIds: readonly number[]): Promise<Set<number>> {
    const ids = [...new Set(userIds)]
    if (ids.length === 0) return new Set()
    const counts = (await this.redis.eval(ONLINE, ids.length, ...ids.map((id) => this.key(id)))) as number[]
    return new Set(ids.filter((_, i) => Number(counts[i] ?? 0) > 0))
  }

  async maintain(): Promise<PresenceUpkeep> {
    const pairs: Array<string | number> = []
    for (const [connectionId, userId] of this.local) pairs.push(userId, connectionId)
    const held = await this.redis.eval(
      RENEW,
      1,
      this.nodesKey,
      this.nodeId,
      this.leaseMs,
      this.ttlMs,
      this.prefix,
      ...pairs,
    )
    const unregistered =
      held === 0 ? [...this.local].map(([connectionId, userId]) => ({ userId, connectionId })) : []
    const offline = new Set<number>()
    // A node that was itself late (held === 2) or had lost everything (0) does not judge others yet.
    while (held === 1) {
      const claimed = (await this.redis.eval(CLAIM, 1, this.nodesKey, this.prefix, this.nodeHashPrefix)) as
        | string[]
        | null
      if (claimed === null) break
      for (const id of claimed) offline.add(Number(id))
    }
    return { offline: [...offline], unregistered }
  }

  async restore(userId: number, connectionId: string): Promise<number> {
    if (this.local.get(connectionId) !== userId) return 0
    return this.connect(userId, connectionId)
  }

  /** A node that stops cleanly gives its lease back (its sockets were closed, and announced, before). */
  async close(): Promise<void> {
    await Promise.race([
      this.redis
        .multi()
        .zrem(this.nodesKey, this.nodeId)
        .del(this.nodeHash)
        .exec()
        .catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ])
    this.redis.disconnect()
  }
}
