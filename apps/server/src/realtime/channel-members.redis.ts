import { Redis } from 'ioredis'
import { type ChannelMember, type ChannelMembers, distinctMembers } from './channel-members.ts'

/** How long a node's subscriptions live without a refresh: a crashed node's members leave after this. */
const TTL_MS = 60_000
const REFRESH_MS = 20_000

// One hash per channel: field = connection id, value = `{expiry ms}|{user id}|{member JSON}`.
// KEYS[1] the hash; ARGV: now, connection id, value, user id, ttl. Drops expired fields, answers 1 when
// no other live socket of the user is in the channel (the user's first), else 0; then adds this one.
const JOIN = `
local fields = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #fields, 2 do
  local value = fields[i + 1]
  local sep = string.find(value, '|', 1, true)
  local expiry = tonumber(string.sub(value, 1, sep - 1))
  if expiry <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], fields[i])
  elseif fields[i] ~= ARGV[2] then
    local rest = string.sub(value, sep + 1)
    local user = string.sub(rest, 1, string.find(rest, '|', 1, true) - 1)
    if user == ARGV[4] then others = others + 1 end
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if others == 0 then return 1 end
return 0`

// Answers 1 when the removed field was there and no other live socket of the user is left, else 0.
const LEAVE = `
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local value = fields[i + 1]
  local sep = string.find(value, '|', 1, true)
  local expiry = tonumber(string.sub(value, 1, sep - 1))
  local rest = string.sub(value, sep + 1)
  local user = string.sub(rest, 1, string.find(rest, '|', 1, true) - 1)
  if expiry > tonumber(ARGV[1]) and user == ARGV[3] then return 0 end
end
return 1`

/**
 * Cluster presence rosters in Redis, one hash per channel. Like RedisPresence, each node re-stamps the
 * subscriptions it holds every 20 s; a node that dies stops refreshing and its members count as gone
 * 60 s later (without a `member_removed`: readers simply stop listing them).
 */
export class RedisChannelMembers implements ChannelMembers {
  private readonly redis: Redis
  private readonly local = new Map<string, { channel: string; value: () => string }>()
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

  async join(channel: string, connectionId: string, member: ChannelMember): Promise<boolean> {
    const json = JSON.stringify(member)
    const value = () => `${Date.now() + TTL_MS}|${member.user_id}|${json}`
    this.local.set(`${channel}\n${connectionId}`, { channel, value })
    const first = await this.redis.eval(
      JOIN,
      1,
      this.prefix + channel,
      Date.now(),
      connectionId,
      value(),
      member.user_id,
      TTL_MS,
    )
    return first === 1
  }

  async leave(channel: string, connectionId: string, userId: number): Promise<boolean> {
    this.local.delete(`${channel}\n${connectionId}`)
    const last = await this.redis.eval(LEAVE, 1, this.prefix + channel, Date.now(), connectionId, userId)
    return last === 1
  }

  async list(channel: string): Promise<ChannelMember[]> {
    const fields = await this.redis.hgetall(this.prefix + channel)
    const now = Date.now()
    const members: ChannelMember[] = []
    for (const value of Object.values(fields)) {
      const [expiry, , ...rest] = value.split('|')
      if (Number(expiry) <= now) continue
      members.push(JSON.parse(rest.join('|')) as ChannelMember)
    }
    return distinctMembers(members)
  }

  private async refreshLocal(): Promise<void> {
    if (this.local.size === 0) return
    const pipeline = this.redis.pipeline()
    for (const [key, { channel, value }] of this.local) {
      const connectionId = key.slice(channel.length + 1)
      pipeline.hset(this.prefix + channel, connectionId, value())
      pipeline.pexpire(this.prefix + channel, TTL_MS)
    }
    await pipeline.exec()
  }

  async close(): Promise<void> {
    clearInterval(this.refresh)
    this.redis.disconnect()
  }
}
