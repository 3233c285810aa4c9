import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pino, { type Logger } from 'pino'
import { type Clock, systemClock } from './clock.ts'
import type { Config } from './config.ts'
import { MemoryCounters } from './limits/counters.memory.ts'
import { RedisCounters } from './limits/counters.redis.ts'
import type { Counters } from './limits/counters.ts'
import { createPipeline, type MediaPipeline } from './media/pipeline.ts'
import type { BlobStore } from './media/storage/blob-store.ts'
import { DiskBlobStore } from './media/storage/disk.ts'
import { S3BlobStore } from './media/storage/s3.ts'
import { MemoryBus } from './realtime/bus.memory.ts'
import { RedisBus } from './realtime/bus.redis.ts'
import type { Bus } from './realtime/bus.ts'
import { MemoryChannelMembers } from './realtime/channel-members.memory.ts'
import { RedisChannelMembers } from './realtime/channel-members.redis.ts'
import type { ChannelMembers } from './realtime/channel-members.ts'
import { MemoryPresence } from './realtime/presence.memory.ts'
import { RedisPresence } from './realtime/presence.redis.ts'
import type { Presence } from './realtime/presence.ts'
import { ConsoleSms } from './sms/sms.console.ts'
import type { SmsSender } from './sms/sms.ts'
import { TwilioSms } from './sms/sms.twilio.ts'
import { openPostgres, openSqlite, restrictMode, type Store } from './store/db.ts'
import { migrateToLatest } from './store/migrate.ts'

/**
 * Everything the server needs, built once. Nothing outside this file (and main.ts) knows which
 * implementation of the database, bus, counters or SMS it got. Functions take the parts they use.
 */
export interface Deps {
  config: Config
  log: Logger
  clock: Clock
  store: Store
  bus: Bus
  /** Who has a socket open (in-process, or Redis in a cluster). */
  presence: Presence
  /** Who is subscribed to each Pusher presence channel (in-process, or Redis in a cluster). */
  channelMembers: ChannelMembers
  counters: Counters
  sms: SmsSender
  /** Media bytes: local disk under the data dir, or an S3-compatible bucket. */
  blobs: BlobStore
  /** Checks and processes uploaded bytes, with bounded concurrency (media/pipeline.ts). */
  media: MediaPipeline
  /** HMAC key for access tokens and for hashing OTP codes. */
  secret: Uint8Array
  close(): Promise<void>
}

export interface DepsOverrides {
  log?: Logger
  clock?: Clock
  sms?: SmsSender
  /** Namespaces Redis keys and topics, so several deployments or test runs can share one Redis. */
  redisPrefix?: string
}

export async function buildDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const log = overrides.log ?? pino({ level: config.logLevel })
  const clock = overrides.clock ?? systemClock
  const store = config.databaseUrl
    ? openPostgres(config.databaseUrl)
    : openSqlite(path.join(config.dataDir, 'parley.db'))
  await migrateToLatest(store)

  const prefix = overrides.redisPrefix ?? 'parley:'
  const bus = config.redisUrl ? new RedisBus(config.redisUrl, `${prefix}bus:`) : new MemoryBus()
  const presence = config.redisUrl
    ? new RedisPresence(config.redisUrl, `${prefix}presence:`, config.presenceLeaseMs)
    : new MemoryPresence()
  const channelMembers = config.redisUrl
    ? new RedisChannelMembers(config.redisUrl, `${prefix}channels:`)
    : new MemoryChannelMembers()
  const counters = config.redisUrl
    ? new RedisCounters(config.redisUrl, `${prefix}rl:`, clock)
    : new MemoryCounters(clock)
  const sms =
    overrides.sms ?? (config.sms.driver === 'twilio' ? new TwilioSms(config.sms) : new ConsoleSms(log))
  const secret = new TextEncoder().encode(config.jwtSecret ?? (await generatedSecret(config, store)))
  const blobs = await openBlobStore(config, secret, clock)
  const media = createPipeline({ config, store, blobs, clock, log })

  return {
    config,
    log,
    clock,
    store,
    bus,
    presence,
    channelMembers,
    counters,
    sms,
    blobs,
    media,
    secret,
    async close() {
      await Promise.allSettled([
        bus.close(),
        presence.close(),
        channelMembers.close(),
        counters.close(),
        blobs.close(),
        media.close(),
      ])
      await store.close()
    },
  }
}

/** S3 when a bucket is configured (created if missing), else files under the data dir. */
async function openBlobStore(config: Config, secret: Uint8Array, clock: Clock): Promise<BlobStore> {
  if (!config.s3) return new DiskBlobStore(path.join(config.dataDir, 'media'), secret, () => clock.now())
  const s3 = new S3BlobStore(config.s3)
  await s3.ensureBucket()
  return s3
}

/**
 * With no PARLEY_JWT_SECRET, make one on first start and keep it: in the data dir for the embedded
 * store, in the database for PostgreSQL so every node of a cluster signs with the same key.
 */
async function generatedSecret(config: Config, store: Store): Promise<string> {
  const fresh = crypto.randomBytes(48).toString('base64url')
  if (store.dialect === 'sqlite') {
    const file = path.join(config.dataDir, 'jwt-secret')
    try {
      fs.writeFileSync(file, fresh, { flag: 'wx', mode: 0o600 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    // `mode` above is masked by the umask and does not apply to a file that already existed.
    restrictMode(file, 0o600)
    return fs.readFileSync(file, 'utf8').trim()
  }
  await store.db
    .insertInto('server_secrets')
    .values({ name: 'jwt', value: fresh })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await store.db
    .selectFrom('server_secrets')
    .select('value')
    .where('name', '=', 'jwt')
    .executeTakeFirstOrThrow()
  return row.value
}
