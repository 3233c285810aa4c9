import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, describeConfig, loadConfig } from './config.ts'

const TWILIO = {
  PARLEY_SMS_DRIVER: 'twilio',
  PARLEY_TWILIO_ACCOUNT_SID: 'AC123',
  PARLEY_TWILIO_AUTH_TOKEN: 'token',
  PARLEY_TWILIO_FROM: '+15005550006',
}

/** The ConfigError thrown for `env`, or a failure if none is. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

describe('loadConfig', () => {
  it('runs with no configuration: embedded SQLite in ./data, in-process bus, console SMS', () => {
    const config = loadConfig({})
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 3000,
      dataDir: path.resolve('./data'),
      databaseUrl: null,
      redisUrl: null,
      publicUrl: null,
      jwtSecret: null,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2_592_000,
      adminToken: null,
      metricsToken: null,
      sms: { driver: 'console' },
      otpSendsPerHour: 3,
      otpSendsPerIpPerHour: 20,
      phoneLookupsPerDay: 50,
      rateLimitPerIp: 600,
      rateLimitPerUser: 600,
      bodyLimit: 1_048_576,
      httpHeadersTimeoutMs: 10_000,
      corsOrigins: [],
      trustProxy: false,
      logLevel: 'info',
      wsMaxFrameBytes: 65536,
      wsFramesPerSecond: 50,
      wsMaxBufferedBytes: 4194304,
      wsHeartbeatMs: 25000,
      wsHelloTimeoutMs: 10_000,
      wsMaxSocketsPerUser: 20,
      wsMaxSocketsPerSession: 5,
      wsMaxPendingPerIp: 20,
      pusherAppKey: 'parley',
      typingTimeoutMs: 5000,
      maxGroupSize: 1024,
      updateRetentionDays: 30,
      s3: null,
      mediaQuotaBytes: 1073741824,
      mediaUrlTtlSeconds: 300,
      uploadsPerMinute: 30,
      clamavUrl: null,
      mediaMaxPixels: 40_000_000,
      mediaProcessingConcurrency: 2,
      presenceLeaseMs: 15000,
      production: false,
    })
  })

  it('reads cluster settings, lists and booleans', () => {
    const config = loadConfig({
      PARLEY_PORT: '8080',
      PARLEY_DATABASE_URL: 'postgres://parley@db:5432/parley',
      PARLEY_REDIS_URL: 'rediss://cache:6380',
      PARLEY_JWT_SECRET: 'x'.repeat(32),
      PARLEY_ADMIN_TOKEN: 'a'.repeat(32),
      PARLEY_CORS_ORIGINS: ' https://a.example ,https://b.example,',
      PARLEY_TRUST_PROXY: 'yes',
      ...TWILIO,
    })
    expect(config.port).toBe(8080)
    expect(config.databaseUrl).toBe('postgres://parley@db:5432/parley')
    expect(config.redisUrl).toBe('rediss://cache:6380')
    expect(config.adminToken).toBe('a'.repeat(32))
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example'])
    expect(config.trustProxy).toBe(true)
    expect(config.sms).toEqual({
      driver: 'twilio',
      accountSid: 'AC123',
      authToken: 'token',
      from: '+15005550006',
      baseUrl: 'https://api.twilio.com',
    })
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PARLEY_PORT: '', PARLEY_DATABASE_URL: '  ' })).toMatchObject({
      port: 3000,
      databaseUrl: null,
    })
  })

  it.each([
    [{ PARLEY_PORT: 'abc' }, 'PARLEY_PORT="abc"'],
    [{ PARLEY_PORT: '70000' }, 'PARLEY_PORT="70000"'],
    [{ PARLEY_DATABASE_URL: 'mysql://x' }, 'PARLEY_DATABASE_URL'],
    [{ PARLEY_REDIS_URL: 'localhost:6379' }, 'PARLEY_REDIS_URL'],
    [{ PARLEY_JWT_SECRET: 'too-short' }, 'PARLEY_JWT_SECRET'],
    [{ PARLEY_ADMIN_TOKEN: 'too-short' }, 'PARLEY_ADMIN_TOKEN: expected at least 32 characters'],
    [{ PARLEY_METRICS_TOKEN: 'too-short' }, 'PARLEY_METRICS_TOKEN: expected at least 32 characters'],
    [{ PARLEY_ACCESS_TOKEN_TTL: '0' }, 'PARLEY_ACCESS_TOKEN_TTL="0"'],
    [{ PARLEY_RATE_LIMIT_PER_IP: '1.5' }, 'PARLEY_RATE_LIMIT_PER_IP="1.5"'],
    [{ PARLEY_BODY_LIMIT: '10' }, 'PARLEY_BODY_LIMIT="10"'],
    [{ PARLEY_TRUST_PROXY: 'maybe' }, 'PARLEY_TRUST_PROXY="maybe"'],
    [{ PARLEY_LOG_LEVEL: 'loud' }, 'PARLEY_LOG_LEVEL="loud"'],
    [{ PARLEY_PUBLIC_URL: 'example.com' }, 'PARLEY_PUBLIC_URL="example.com"'],
    [{ PARLEY_SMS_DRIVER: 'pigeon' }, 'PARLEY_SMS_DRIVER="pigeon"'],
    [{ ...TWILIO, PARLEY_TWILIO_ACCOUNT_SID: '' }, 'PARLEY_TWILIO_ACCOUNT_SID'],
    [{ ...TWILIO, PARLEY_TWILIO_AUTH_TOKEN: '' }, 'PARLEY_TWILIO_AUTH_TOKEN'],
    [{ ...TWILIO, PARLEY_TWILIO_FROM: '' }, 'PARLEY_TWILIO_FROM'],
    [{ ...TWILIO, PARLEY_TWILIO_BASE_URL: 'api.twilio.com' }, 'PARLEY_TWILIO_BASE_URL'],
    [{ NODE_ENV: 'production' }, 'PARLEY_SMS_DRIVER="console": the console driver'],
  ])('refuses %j with a message naming the variable', (env, named) => {
    const error = configError(env)
    expect(error.message).toContain(named)
    expect(error.message).not.toMatch(/union/i)
  })

  it('names every bad variable at once', () => {
    const error = configError({ PARLEY_PORT: 'abc', PARLEY_LOG_LEVEL: 'loud', PARLEY_SMS_DRIVER: 'twilio' })
    for (const name of [
      'PARLEY_PORT',
      'PARLEY_LOG_LEVEL',
      'PARLEY_TWILIO_ACCOUNT_SID',
      'PARLEY_TWILIO_AUTH_TOKEN',
      'PARLEY_TWILIO_FROM',
    ]) {
      expect(error.message).toContain(name)
    }
  })

  it('never echoes secrets in its messages', () => {
    const error = configError({
      PARLEY_JWT_SECRET: 'hunter2-secret',
      PARLEY_ADMIN_TOKEN: 'admin-hunter3',
      PARLEY_DATABASE_URL: 'mysql://root:db-password@db',
      PARLEY_REDIS_URL: 'redis//:redis-password@cache',
    })
    expect(error.message).not.toMatch(/hunter2|hunter3|db-password|redis-password/)
  })

  it('accepts twilio in production', () => {
    expect(loadConfig({ NODE_ENV: 'production', ...TWILIO }).production).toBe(true)
  })
})

describe('describeConfig', () => {
  const settings = describeConfig()

  it('lists PARLEY_* settings whose defaults load', () => {
    expect(settings.length).toBeGreaterThan(0)
    const env: Record<string, string> = {}
    for (const setting of settings) {
      expect(setting.name).toMatch(/^PARLEY_[A-Z0-9_]+$/)
      expect(setting.doc.length).toBeGreaterThan(0)
      env[setting.name] = setting.default
    }
    expect(loadConfig(env)).toEqual(loadConfig({}))
  })

  it('matches the configuration table in README.md', () => {
    const readme = fs.readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
    const rows = new Map(
      [...readme.matchAll(/^\|\s*`(PARLEY_[A-Z0-9_]+)`\s*\|([^|]*)\|/gm)].map((match) => [
        match[1],
        match[2]?.trim(),
      ]),
    )
    for (const setting of settings) {
      const shown = setting.default === '' ? '—' : `\`${setting.default}\``
      expect(rows.get(setting.name), `README.md configuration table row for ${setting.name}`).toBe(shown)
    }
    expect([...rows.keys()].sort()).toEqual(settings.map((setting) => setting.name).sort())
  })

  it('reads the S3 settings as one store, and names each bad one', () => {
    expect(
      loadConfig({
        PARLEY_S3_BUCKET: 'parley-media',
        PARLEY_S3_ENDPOINT: 'http://127.0.0.1:9000',
        PARLEY_S3_ACCESS_KEY_ID: 'key',
        PARLEY_S3_SECRET_ACCESS_KEY: 'secret',
        PARLEY_S3_FORCE_PATH_STYLE: 'true',
      }).s3,
    ).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      bucket: 'parley-media',
      accessKeyId: 'key',
      secretAccessKey: 'secret',
      forcePathStyle: true,
    })
    const bad = () =>
      loadConfig({
        PARLEY_S3_BUCKET: 'Bad_Bucket',
        PARLEY_S3_ENDPOINT: 'ftp://x',
        PARLEY_S3_ACCESS_KEY_ID: 'key',
        PARLEY_S3_SECRET_ACCESS_KEY: 'do-not-echo-me',
      })
    expect(bad).toThrow(/PARLEY_S3_BUCKET/)
    expect(bad).toThrow(/PARLEY_S3_ENDPOINT/)
    expect(bad).not.toThrow(/do-not-echo-me/)
    expect(() => loadConfig({ PARLEY_S3_BUCKET: 'parley-media', PARLEY_S3_ACCESS_KEY_ID: 'key' })).toThrow(
      /PARLEY_S3_ACCESS_KEY_ID/,
    )
  })
})
