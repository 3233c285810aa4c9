import path from 'node:path'
import { MAX_GROUP_SIZE_LIMIT } from '@parley/protocol'
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * Every setting, read once from `PARLEY_*` environment variables. The README's configuration table
 * lists the same names; `describeConfig()` prints them so the two cannot drift far.
 */
const Settings = {
  PARLEY_HOST: { default: '0.0.0.0', doc: 'Interface to listen on.' },
  PARLEY_PORT: { default: '3000', doc: 'HTTP and WebSocket port.' },
  PARLEY_DATA_DIR: { default: './data', doc: 'Embedded mode: SQLite database, media, generated JWT secret.' },
  PARLEY_DATABASE_URL: { default: '', doc: 'PostgreSQL URL; unset means embedded SQLite in the data dir.' },
  PARLEY_REDIS_URL: {
    default: '',
    doc: 'Redis URL for the bus, presence and rate limits; unset means in-process.',
  },
  PARLEY_PUBLIC_URL: { default: '', doc: 'Public base URL (links in docs and signed URLs).' },
  PARLEY_JWT_SECRET: {
    default: '',
    doc: 'HMAC secret for access tokens (≥ 32 chars). Unset: generated once and kept in the data dir (SQLite) or the database (PostgreSQL).',
  },
  PARLEY_ACCESS_TOKEN_TTL: { default: '900', doc: 'Access token lifetime, seconds.' },
  PARLEY_REFRESH_TOKEN_TTL: { default: '2592000', doc: 'Refresh token (session) idle lifetime, seconds.' },
  PARLEY_ADMIN_TOKEN: {
    default: '',
    doc: 'Bearer token for the admin API (`/api/admin/*`, used by `bench/` to seed users); unset disables it.',
  },
  PARLEY_METRICS_TOKEN: {
    default: '',
    doc: 'Bearer token for `/metrics` and `/health/detailed` (≥ 32 chars). Unset: they answer only clients on this machine (loopback), others get 404.',
  },
  PARLEY_SMS_DRIVER: {
    default: 'console',
    doc: '`console` (code in the log; refused in production) or `twilio`.',
  },
  PARLEY_TWILIO_ACCOUNT_SID: { default: '', doc: 'Twilio account SID (sms driver `twilio`).' },
  PARLEY_TWILIO_AUTH_TOKEN: { default: '', doc: 'Twilio auth token.' },
  PARLEY_TWILIO_FROM: { default: '', doc: 'Sender number or messaging service for OTP texts.' },
  PARLEY_TWILIO_BASE_URL: {
    default: 'https://api.twilio.com',
    doc: 'Twilio API base URL (any Messages-API-compatible provider).',
  },
  PARLEY_OTP_SENDS_PER_HOUR: { default: '3', doc: 'OTP texts per phone number per hour.' },
  PARLEY_OTP_SENDS_PER_IP_PER_HOUR: { default: '20', doc: 'OTP texts per client IP per hour.' },
  PARLEY_PHONE_LOOKUPS_PER_DAY: {
    default: '50',
    doc: 'Phone-number look-ups (exact-number user search, `POST /api/contacts`) per user per rolling 24 hours.',
  },
  PARLEY_RATE_LIMIT_PER_IP: {
    default: '600',
    doc: 'Requests per minute per client IP (an IPv6 client by its /64).',
  },
  PARLEY_RATE_LIMIT_PER_USER: { default: '600', doc: 'Requests per minute per signed-in user.' },
  PARLEY_BODY_LIMIT: { default: '1048576', doc: 'Largest JSON request body, bytes.' },
  PARLEY_HTTP_HEADERS_TIMEOUT_MS: {
    default: '10000',
    doc: 'A connection that has not sent complete request headers within this long is closed (a WebSocket upgrade too), ms.',
  },
  PARLEY_CORS_ORIGINS: {
    default: '',
    doc: 'Comma-separated origins allowed by CORS; empty means same-origin only, `*` any.',
  },
  PARLEY_TRUST_PROXY: {
    default: 'false',
    doc: 'Behind one reverse proxy or load balancer: the client IP is the last X-Forwarded-For entry (the one it appended).',
  },
  PARLEY_LOG_LEVEL: { default: 'info', doc: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  PARLEY_WS_MAX_FRAME_BYTES: {
    default: '65536',
    doc: 'Largest WebSocket frame a client may send (bigger: close 1009).',
  },
  PARLEY_WS_FRAMES_PER_SECOND: {
    default: '50',
    doc: 'Frames per second one socket may send (more: close 4004).',
  },
  PARLEY_WS_HELLO_TIMEOUT_MS: {
    default: '10000',
    doc: 'A socket that sends no `hello` within this long is closed (4005), ms.',
  },
  PARLEY_WS_MAX_SOCKETS_PER_USER: {
    default: '20',
    doc: 'Open sockets one user may hold, counted across the cluster (more: close 4006).',
  },
  PARLEY_WS_MAX_SOCKETS_PER_SESSION: {
    default: '5',
    doc: 'Open sockets one session (device) may hold on one node (more: close 4006).',
  },
  PARLEY_WS_MAX_PENDING_PER_IP: {
    default: '20',
    doc: 'Sockets that have not sent `hello` yet, per client IP (IPv6: per /64) on one node (more: close 4006).',
  },
  PARLEY_WS_HEARTBEAT_MS: {
    default: '25000',
    doc: 'Interval of server pings; a socket that misses a whole interval is closed (4003).',
  },
  PARLEY_WS_MAX_BUFFERED_BYTES: {
    default: '4194304',
    doc: 'Unsent bytes one socket may hold before it is closed as a slow consumer (4001; it resumes).',
  },
  PARLEY_PUSHER_APP_KEY: {
    default: 'parley',
    doc: 'App key of the Pusher-protocol endpoint `/app/{key}` (pusher-js / Laravel Echo `key`); docs/api/pusher.md.',
  },
  PARLEY_TYPING_TIMEOUT_MS: {
    default: '5000',
    doc: 'A typing indicator with no new `typing:start` for this long is stopped by the server, ms.',
  },
  PARLEY_MAX_GROUP_SIZE: {
    default: '1024',
    doc: 'Most members a group may have (at most 10000); a longer list of user ids is a `400`.',
  },
  PARLEY_UPDATE_RETENTION_DAYS: {
    default: '30',
    doc: 'Days an update stays in the per-user log; an older sync cursor gets `resync_required`.',
  },
  PARLEY_S3_ENDPOINT: {
    default: '',
    doc: 'S3-compatible endpoint URL (MinIO, Ceph, Swift); empty: AWS for the region.',
  },
  PARLEY_S3_REGION: { default: 'us-east-1', doc: 'S3 region to sign requests for.' },
  PARLEY_S3_BUCKET: {
    default: '',
    doc: 'S3 bucket for media (created on start if missing); empty: media on local disk under `PARLEY_DATA_DIR/media`.',
  },
  PARLEY_S3_ACCESS_KEY_ID: {
    default: '',
    doc: 'S3 access key; empty: the AWS SDK default credential chain.',
  },
  PARLEY_S3_SECRET_ACCESS_KEY: { default: '', doc: 'S3 secret key (with `PARLEY_S3_ACCESS_KEY_ID`).' },
  PARLEY_S3_FORCE_PATH_STYLE: {
    default: 'false',
    doc: 'Address the bucket as `endpoint/bucket` rather than `bucket.endpoint` (MinIO, Swift).',
  },
  PARLEY_MEDIA_QUOTA_BYTES: {
    default: '1073741824',
    doc: 'Media one user may store in total, bytes (uploads past it: `413 quota_exceeded`).',
  },
  PARLEY_MEDIA_URL_TTL: {
    default: '300',
    doc: 'Life of signed media URLs (download and upload), seconds.',
  },
  PARLEY_UPLOADS_PER_MINUTE: {
    default: '30',
    doc: 'Uploads one user may start per minute (`POST /api/upload/sign`; more: `429`).',
  },
  PARLEY_CLAMAV_URL: {
    default: '',
    doc: 'ClamAV clamd that scans every upload (`tcp://host:port`, `unix:///path`); unset: no scan. Set but unreachable: uploads answer 503.',
  },
  PARLEY_MEDIA_MAX_PIXELS: {
    default: '40000000',
    doc: 'Largest width × height (all frames of an animation) an image or video may have; more is refused (`too_many_pixels`).',
  },
  PARLEY_MEDIA_PROCESSING_CONCURRENCY: {
    default: '2',
    doc: 'Uploads processed (scanned, decoded, resized) at once per server; the rest wait in a queue.',
  },
  PARLEY_PRESENCE_LEASE_MS: {
    default: '15000',
    doc: 'Cluster: a node that has not renewed its presence lease in Redis for this long is dead; another node announces its users offline, ms.',
  },
} as const satisfies Record<string, { default: string; doc: string }>

export type SettingName = keyof typeof Settings

const Positive = Type.Integer({ minimum: 1 })
const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  databaseUrl: Type.Union([Type.String({ pattern: '^postgres(ql)?://' }), Type.Null()]),
  redisUrl: Type.Union([Type.String({ pattern: '^rediss?://' }), Type.Null()]),
  publicUrl: Type.Union([Type.String({ pattern: '^https?://' }), Type.Null()]),
  jwtSecret: Type.Union([Type.String({ minLength: 32 }), Type.Null()]),
  accessTokenTtlSeconds: Positive,
  refreshTokenTtlSeconds: Positive,
  /** null: the admin API answers not_found. */
  adminToken: Type.Union([Type.String({ minLength: 32 }), Type.Null()]),
  /** null: /metrics and /health/detailed answer loopback clients only. */
  metricsToken: Type.Union([Type.String({ minLength: 32 }), Type.Null()]),
  sms: Type.Union([
    Type.Object({ driver: Type.Literal('console') }),
    Type.Object({
      driver: Type.Literal('twilio'),
      accountSid: Type.String({ minLength: 1 }),
      authToken: Type.String({ minLength: 1 }),
      from: Type.String({ minLength: 1 }),
      baseUrl: Type.String({ pattern: '^https?://' }),
    }),
  ]),
  otpSendsPerHour: Positive,
  otpSendsPerIpPerHour: Positive,
  phoneLookupsPerDay: Positive,
  rateLimitPerIp: Positive,
  rateLimitPerUser: Positive,
  bodyLimit: Type.Integer({ minimum: 1024 }),
  httpHeadersTimeoutMs: Type.Integer({ minimum: 10 }),
  corsOrigins: Type.Array(Type.String()),
  trustProxy: Type.Boolean(),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  ),
  wsMaxFrameBytes: Type.Integer({ minimum: 1024 }),
  wsFramesPerSecond: Positive,
  wsMaxBufferedBytes: Type.Integer({ minimum: 1024 }),
  wsHeartbeatMs: Type.Integer({ minimum: 10 }),
  wsHelloTimeoutMs: Type.Integer({ minimum: 10 }),
  wsMaxSocketsPerUser: Positive,
  wsMaxSocketsPerSession: Positive,
  wsMaxPendingPerIp: Positive,
  pusherAppKey: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  typingTimeoutMs: Type.Integer({ minimum: 50 }),
  maxGroupSize: Type.Integer({ minimum: 2, maximum: MAX_GROUP_SIZE_LIMIT }),
  updateRetentionDays: Positive,
  s3: Type.Union([
    Type.Null(),
    Type.Object({
      endpoint: Type.Union([Type.String({ pattern: '^https?://' }), Type.Null()]),
      region: Type.String({ minLength: 1 }),
      bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
      accessKeyId: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
      secretAccessKey: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
      forcePathStyle: Type.Boolean(),
    }),
  ]),
  mediaQuotaBytes: Positive,
  mediaUrlTtlSeconds: Type.Integer({ minimum: 1, maximum: 604800 }),
  uploadsPerMinute: Positive,
  clamavUrl: Type.Union([Type.String({ pattern: '^(tcp://[^/]+|unix:///.+)$' }), Type.Null()]),
  mediaMaxPixels: Type.Integer({ minimum: 10000 }),
  mediaProcessingConcurrency: Type.Integer({ minimum: 1, maximum: 64 }),
  presenceLeaseMs: Type.Integer({ minimum: 300 }),
  production: Type.Boolean(),
})
export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

function readSetting(env: Env, name: SettingName): string {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? Settings[name].default : value
}

const integer = (raw: string): number => (/^-?\d+$/.test(raw) ? Number(raw) : Number.NaN)
const boolean = (raw: string): boolean | string =>
  ['1', 'true', 'yes'].includes(raw.toLowerCase())
    ? true
    : ['0', 'false', 'no'].includes(raw.toLowerCase())
      ? false
      : raw
const orNull = (raw: string): string | null => (raw === '' ? null : raw)

/** Maps a config field back to the variable that sets it, for error messages. */
const FIELD_TO_SETTING: Record<Exclude<keyof Config, 'production'>, SettingName> = {
  host: 'PARLEY_HOST',
  port: 'PARLEY_PORT',
  dataDir: 'PARLEY_DATA_DIR',
  databaseUrl: 'PARLEY_DATABASE_URL',
  redisUrl: 'PARLEY_REDIS_URL',
  publicUrl: 'PARLEY_PUBLIC_URL',
  jwtSecret: 'PARLEY_JWT_SECRET',
  accessTokenTtlSeconds: 'PARLEY_ACCESS_TOKEN_TTL',
  refreshTokenTtlSeconds: 'PARLEY_REFRESH_TOKEN_TTL',
  adminToken: 'PARLEY_ADMIN_TOKEN',
  metricsToken: 'PARLEY_METRICS_TOKEN',
  sms: 'PARLEY_SMS_DRIVER',
  otpSendsPerHour: 'PARLEY_OTP_SENDS_PER_HOUR',
  otpSendsPerIpPerHour: 'PARLEY_OTP_SENDS_PER_IP_PER_HOUR',
  phoneLookupsPerDay: 'PARLEY_PHONE_LOOKUPS_PER_DAY',
  rateLimitPerIp: 'PARLEY_RATE_LIMIT_PER_IP',
  rateLimitPerUser: 'PARLEY_RATE_LIMIT_PER_USER',
  bodyLimit: 'PARLEY_BODY_LIMIT',
  httpHeadersTimeoutMs: 'PARLEY_HTTP_HEADERS_TIMEOUT_MS',
  corsOrigins: 'PARLEY_CORS_ORIGINS',
  trustProxy: 'PARLEY_TRUST_PROXY',
  logLevel: 'PARLEY_LOG_LEVEL',
  wsMaxFrameBytes: 'PARLEY_WS_MAX_FRAME_BYTES',
  wsFramesPerSecond: 'PARLEY_WS_FRAMES_PER_SECOND',
  wsMaxBufferedBytes: 'PARLEY_WS_MAX_BUFFERED_BYTES',
  wsHeartbeatMs: 'PARLEY_WS_HEARTBEAT_MS',
  wsHelloTimeoutMs: 'PARLEY_WS_HELLO_TIMEOUT_MS',
  wsMaxSocketsPerUser: 'PARLEY_WS_MAX_SOCKETS_PER_USER',
  wsMaxSocketsPerSession: 'PARLEY_WS_MAX_SOCKETS_PER_SESSION',
  wsMaxPendingPerIp: 'PARLEY_WS_MAX_PENDING_PER_IP',
  pusherAppKey: 'PARLEY_PUSHER_APP_KEY',
  typingTimeoutMs: 'PARLEY_TYPING_TIMEOUT_MS',
  maxGroupSize: 'PARLEY_MAX_GROUP_SIZE',
  updateRetentionDays: 'PARLEY_UPDATE_RETENTION_DAYS',
  s3: 'PARLEY_S3_BUCKET',
  mediaQuotaBytes: 'PARLEY_MEDIA_QUOTA_BYTES',
  mediaUrlTtlSeconds: 'PARLEY_MEDIA_URL_TTL',
  uploadsPerMinute: 'PARLEY_UPLOADS_PER_MINUTE',
  clamavUrl: 'PARLEY_CLAMAV_URL',
  mediaMaxPixels: 'PARLEY_MEDIA_MAX_PIXELS',
  mediaProcessingConcurrency: 'PARLEY_MEDIA_PROCESSING_CONCURRENCY',
  presenceLeaseMs: 'PARLEY_PRESENCE_LEASE_MS',
}

/** What a bad value should have been, in words (the schema's own messages say "Expected union value"). */
const EXPECTED: Partial<Record<SettingName, string>> = {
  PARLEY_PORT: 'an integer from 0 to 65535',
  PARLEY_DATABASE_URL: 'a postgres:// or postgresql:// URL, or unset for embedded SQLite',
  PARLEY_REDIS_URL: 'a redis:// or rediss:// URL, or unset for the in-process bus',
  PARLEY_PUBLIC_URL: 'an http:// or https:// URL',
  PARLEY_JWT_SECRET: 'at least 32 characters, or unset to generate one',
  PARLEY_ACCESS_TOKEN_TTL: 'a whole number of seconds, at least 1',
  PARLEY_REFRESH_TOKEN_TTL: 'a whole number of seconds, at least 1',
  PARLEY_ADMIN_TOKEN: 'at least 32 characters, or unset to disable the admin API',
  PARLEY_METRICS_TOKEN: 'at least 32 characters, or unset to allow loopback clients only',
  PARLEY_SMS_DRIVER: '`console` or `twilio`',
  PARLEY_TWILIO_BASE_URL: 'an http:// or https:// URL',
  PARLEY_OTP_SENDS_PER_HOUR: 'a whole number, at least 1',
  PARLEY_OTP_SENDS_PER_IP_PER_HOUR: 'a whole number, at least 1',
  PARLEY_PHONE_LOOKUPS_PER_DAY: 'a whole number, at least 1',
  PARLEY_RATE_LIMIT_PER_IP: 'a whole number, at least 1',
  PARLEY_RATE_LIMIT_PER_USER: 'a whole number, at least 1',
  PARLEY_BODY_LIMIT: 'a whole number of bytes, at least 1024',
  PARLEY_HTTP_HEADERS_TIMEOUT_MS: 'a whole number of milliseconds, at least 10',
  PARLEY_TRUST_PROXY: 'true or false',
  PARLEY_LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  PARLEY_WS_MAX_FRAME_BYTES: 'a whole number of bytes, at least 1024',
  PARLEY_WS_FRAMES_PER_SECOND: 'a whole number, at least 1',
  PARLEY_WS_MAX_BUFFERED_BYTES: 'a whole number of bytes, at least 1024',
  PARLEY_WS_HEARTBEAT_MS: 'a whole number of milliseconds, at least 10',
  PARLEY_WS_HELLO_TIMEOUT_MS: 'a whole number of milliseconds, at least 10',
  PARLEY_WS_MAX_SOCKETS_PER_USER: 'a whole number, at least 1',
  PARLEY_WS_MAX_SOCKETS_PER_SESSION: 'a whole number, at least 1',
  PARLEY_WS_MAX_PENDING_PER_IP: 'a whole number, at least 1',
  PARLEY_PUSHER_APP_KEY: '1 to 64 letters, digits, `_` or `-`',
  PARLEY_TYPING_TIMEOUT_MS: 'a whole number of milliseconds, at least 50',
  PARLEY_MAX_GROUP_SIZE: `a whole number from 2 to ${MAX_GROUP_SIZE_LIMIT}`,
  PARLEY_UPDATE_RETENTION_DAYS: 'a whole number of days, at least 1',
  PARLEY_S3_ENDPOINT: 'an http:// or https:// URL, or unset for AWS',
  PARLEY_S3_BUCKET: 'a bucket name (3 to 63 lowercase letters, digits, `.` or `-`), or unset for local disk',
  PARLEY_S3_FORCE_PATH_STYLE: 'true or false',
  PARLEY_MEDIA_QUOTA_BYTES: 'a whole number of bytes, at least 1',
  PARLEY_MEDIA_URL_TTL: 'a whole number of seconds from 1 to 604800',
  PARLEY_UPLOADS_PER_MINUTE: 'a whole number, at least 1',
  PARLEY_CLAMAV_URL: 'tcp://host:port or unix:///path, or unset for no scanning',
  PARLEY_MEDIA_MAX_PIXELS: 'a whole number of pixels, at least 10000',
  PARLEY_MEDIA_PROCESSING_CONCURRENCY: 'a whole number from 1 to 64',
  PARLEY_PRESENCE_LEASE_MS: 'a whole number of milliseconds, at least 300',
}

/** Never echoed in error messages: they are, or may contain, credentials. */
const SECRET_SETTINGS = new Set<SettingName>([
  'PARLEY_JWT_SECRET',
  'PARLEY_ADMIN_TOKEN',
  'PARLEY_METRICS_TOKEN',
  'PARLEY_TWILIO_AUTH_TOKEN',
  'PARLEY_DATABASE_URL',
  'PARLEY_REDIS_URL',
  'PARLEY_S3_SECRET_ACCESS_KEY',
])

/** Reads and validates the whole configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const get = (name: SettingName) => readSetting(env, name)
  const smsDriver = get('PARLEY_SMS_DRIVER')
  const candidate = {
    host: get('PARLEY_HOST'),
    port: integer(get('PARLEY_PORT')),
    dataDir: path.resolve(get('PARLEY_DATA_DIR')),
    databaseUrl: orNull(get('PARLEY_DATABASE_URL')),
    redisUrl: orNull(get('PARLEY_REDIS_URL')),
    publicUrl: orNull(get('PARLEY_PUBLIC_URL')),
    jwtSecret: orNull(get('PARLEY_JWT_SECRET')),
    accessTokenTtlSeconds: integer(get('PARLEY_ACCESS_TOKEN_TTL')),
    refreshTokenTtlSeconds: integer(get('PARLEY_REFRESH_TOKEN_TTL')),
    adminToken: orNull(get('PARLEY_ADMIN_TOKEN')),
    metricsToken: orNull(get('PARLEY_METRICS_TOKEN')),
    sms:
      smsDriver === 'twilio'
        ? {
            driver: 'twilio',
            accountSid: get('PARLEY_TWILIO_ACCOUNT_SID'),
            authToken: get('PARLEY_TWILIO_AUTH_TOKEN'),
            from: get('PARLEY_TWILIO_FROM'),
            baseUrl: get('PARLEY_TWILIO_BASE_URL'),
          }
        : { driver: smsDriver },
    otpSendsPerHour: integer(get('PARLEY_OTP_SENDS_PER_HOUR')),
    otpSendsPerIpPerHour: integer(get('PARLEY_OTP_SENDS_PER_IP_PER_HOUR')),
    phoneLookupsPerDay: integer(get('PARLEY_PHONE_LOOKUPS_PER_DAY')),
    rateLimitPerIp: integer(get('PARLEY_RATE_LIMIT_PER_IP')),
    rateLimitPerUser: integer(get('PARLEY_RATE_LIMIT_PER_USER')),
    bodyLimit: integer(get('PARLEY_BODY_LIMIT')),
    httpHeadersTimeoutMs: integer(get('PARLEY_HTTP_HEADERS_TIMEOUT_MS')),
    corsOrigins: get('PARLEY_CORS_ORIGINS')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    trustProxy: boolean(get('PARLEY_TRUST_PROXY')),
    logLevel: get('PARLEY_LOG_LEVEL'),
    wsMaxFrameBytes: integer(get('PARLEY_WS_MAX_FRAME_BYTES')),
    wsFramesPerSecond: integer(get('PARLEY_WS_FRAMES_PER_SECOND')),
    wsMaxBufferedBytes: integer(get('PARLEY_WS_MAX_BUFFERED_BYTES')),
    wsHeartbeatMs: integer(get('PARLEY_WS_HEARTBEAT_MS')),
    wsHelloTimeoutMs: integer(get('PARLEY_WS_HELLO_TIMEOUT_MS')),
    wsMaxSocketsPerUser: integer(get('PARLEY_WS_MAX_SOCKETS_PER_USER')),
    wsMaxSocketsPerSession: integer(get('PARLEY_WS_MAX_SOCKETS_PER_SESSION')),
    wsMaxPendingPerIp: integer(get('PARLEY_WS_MAX_PENDING_PER_IP')),
    pusherAppKey: get('PARLEY_PUSHER_APP_KEY'),
    typingTimeoutMs: integer(get('PARLEY_TYPING_TIMEOUT_MS')),
    maxGroupSize: integer(get('PARLEY_MAX_GROUP_SIZE')),
    updateRetentionDays: integer(get('PARLEY_UPDATE_RETENTION_DAYS')),
    s3:
      get('PARLEY_S3_BUCKET') === ''
        ? null
        : {
            endpoint: orNull(get('PARLEY_S3_ENDPOINT')),
            region: get('PARLEY_S3_REGION'),
            bucket: get('PARLEY_S3_BUCKET'),
            accessKeyId: orNull(get('PARLEY_S3_ACCESS_KEY_ID')),
            secretAccessKey: orNull(get('PARLEY_S3_SECRET_ACCESS_KEY')),
            forcePathStyle: boolean(get('PARLEY_S3_FORCE_PATH_STYLE')),
          },
    mediaQuotaBytes: integer(get('PARLEY_MEDIA_QUOTA_BYTES')),
    mediaUrlTtlSeconds: integer(get('PARLEY_MEDIA_URL_TTL')),
    uploadsPerMinute: integer(get('PARLEY_UPLOADS_PER_MINUTE')),
    clamavUrl: orNull(get('PARLEY_CLAMAV_URL')),
    mediaMaxPixels: integer(get('PARLEY_MEDIA_MAX_PIXELS')),
    mediaProcessingConcurrency: integer(get('PARLEY_MEDIA_PROCESSING_CONCURRENCY')),
    presenceLeaseMs: integer(get('PARLEY_PRESENCE_LEASE_MS')),
    production: env.NODE_ENV === 'production',
  }

  const problems = new Map<SettingName, string>()
  const problem = (name: SettingName, message?: string) => {
    if (problems.has(name)) return
    const shown = SECRET_SETTINGS.has(name) ? '' : `=${JSON.stringify(get(name))}`
    problems.set(name, `${name}${shown}: ${message ?? `expected ${EXPECTED[name] ?? 'a valid value'}`}`)
  }
  // The SMS settings form a union in the schema; check them one by one so the message names the variable.
  if (smsDriver === 'twilio') {
    for (const name of [
      'PARLEY_TWILIO_ACCOUNT_SID',
      'PARLEY_TWILIO_AUTH_TOKEN',
      'PARLEY_TWILIO_FROM',
    ] as const) {
      if (get(name) === '') problem(name, 'required when PARLEY_SMS_DRIVER=twilio')
    }
    if (!/^https?:\/\//.test(get('PARLEY_TWILIO_BASE_URL'))) problem('PARLEY_TWILIO_BASE_URL')
  } else if (smsDriver !== 'console') {
    problem('PARLEY_SMS_DRIVER')
  } else if (candidate.production) {
    problem(
      'PARLEY_SMS_DRIVER',
      'the console driver prints codes to the log and is refused when NODE_ENV=production',
    )
  }
  const smsChecked = problems.size > 0
  // The S3 settings are one nullable object in the schema; check them one by one, as the SMS ones.
  const problemsBeforeS3 = problems.size
  if (candidate.s3) {
    const s3 = candidate.s3
    if (s3.endpoint !== null && !/^https?:\/\//.test(s3.endpoint)) problem('PARLEY_S3_ENDPOINT')
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket)) problem('PARLEY_S3_BUCKET')
    if (typeof s3.forcePathStyle !== 'boolean') problem('PARLEY_S3_FORCE_PATH_STYLE')
    if ((s3.accessKeyId === null) !== (s3.secretAccessKey === null))
      problem(
        'PARLEY_S3_ACCESS_KEY_ID',
        'set both PARLEY_S3_ACCESS_KEY_ID and PARLEY_S3_SECRET_ACCESS_KEY, or neither',
      )
  }
  const s3Checked = problems.size > problemsBeforeS3
  for (const error of Value.Errors(ConfigSchema, candidate)) {
    const field = (error.path.split('/')[1] ?? '') as keyof typeof FIELD_TO_SETTING
    const setting = FIELD_TO_SETTING[field]
    if (!setting || (field === 'sms' && smsChecked) || (field === 's3' && s3Checked)) continue
    problem(setting)
  }
  if (problems.size > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${[...problems.values()].join('\n  ')}`)
  }
  return candidate as Config
}

export function describeConfig(): Array<{ name: SettingName; default: string; doc: string }> {
  return (Object.keys(Settings) as SettingName[]).map((name) => ({ name, ...Settings[name] }))
}
