import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { RestClient } from '@parley/sdk'
import pg from 'pg'
import pino from 'pino'
import { buildApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { type Config, loadConfig } from '../../src/config.ts'
import { buildDeps, type Deps } from '../../src/deps.ts'
import type { App } from '../../src/http/types.ts'
import type { SmsSender } from '../../src/sms/sms.ts'

/**
 * The integration suite runs once per mode: embedded SQLite always; PostgreSQL + Redis when
 * PARLEY_TEST_DATABASE_URL and PARLEY_TEST_REDIS_URL are set (CI sets both; there nothing may skip).
 */
export type Mode = 'sqlite' | 'postgres+redis'
const adminUrl = process.env.PARLEY_TEST_DATABASE_URL
const redisUrl = process.env.PARLEY_TEST_REDIS_URL
if (Boolean(adminUrl) !== Boolean(redisUrl)) {
  throw new Error('Set both PARLEY_TEST_DATABASE_URL and PARLEY_TEST_REDIS_URL, or neither')
}
/**
 * ClamAV's clamd for upload scanning (`.ci/start-clamd.sh`): every test server, in both modes, scans
 * with it. CI must have it (a missing scanner would silently test uploads unscanned).
 */
const clamavUrl = process.env.PARLEY_TEST_CLAMAV_URL
if (process.env.CI === 'true' && !clamavUrl) {
  throw new Error('CI runs the suite with clamd: set PARLEY_TEST_CLAMAV_URL (.ci/start-clamd.sh)')
}
/** For suites whose bursts of requests are the point: the rate limiter is not what they test. */
export const NO_RATE_LIMITS = { PARLEY_RATE_LIMIT_PER_IP: '1000000', PARLEY_RATE_LIMIT_PER_USER: '1000000' }

export const MODES: Mode[] = adminUrl ? ['sqlite', 'postgres+redis'] : ['sqlite']

/**
 * postgres+redis servers keep media in a real S3 (Swift's s3api; .ci/run starts it) when
 * PARLEY_TEST_S3_ENDPOINT is set, each in a bucket of its own. CI must test S3: there a missing endpoint
 * fails postgres+redis mode instead of quietly falling back to disk.
 */
const s3Endpoint = process.env.PARLEY_TEST_S3_ENDPOINT
const s3Credentials = {
  accessKeyId: process.env.PARLEY_TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
  secretAccessKey: process.env.PARLEY_TEST_S3_SECRET_ACCESS_KEY ?? 'testing',
}

function s3Settings(): { env: Record<string, string>; bucket: string } | null {
  if (!s3Endpoint) {
    if (process.env.CI === 'true')
      throw new Error(
        'CI runs postgres+redis mode against S3: set PARLEY_TEST_S3_ENDPOINT (.ci/run starts it)',
      )
    return null
  }
  const bucket = `parley-test-${crypto.randomBytes(6).toString('hex')}`
  return {
    bucket,
    env: {
      PARLEY_S3_ENDPOINT: s3Endpoint,
      PARLEY_S3_REGION: 'us-east-1',
      PARLEY_S3_BUCKET: bucket,
      PARLEY_S3_ACCESS_KEY_ID: s3Credentials.accessKeyId,
      PARLEY_S3_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
      PARLEY_S3_FORCE_PATH_STYLE: 'true',
    },
  }
}

/** Empties and removes a test server's bucket (best effort: a leftover bucket only takes /tmp space). */
async function dropBucket(bucket: string): Promise<void> {
  if (!s3Endpoint) return
  const client = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3Credentials,
  })
  try {
    for (;;) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
      const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []))
      await Promise.all(keys.map((key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))))
      if (!listed.IsTruncated) break
    }
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
    await Promise.all(
      (uploads.Uploads ?? []).map((upload) =>
        client.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
        ),
      ),
    )
    await client.send(new DeleteBucketCommand({ Bucket: bucket }))
  } catch {
    // Best effort, see above.
  } finally {
    client.destroy()
  }
}

/** Captures texts instead of sending them: the SMS provider is the one outside party tests stand in for. */
export class SmsOutbox implements SmsSender {
  readonly sent: Array<{ to: string; body: string }> = []
  async send(to: string, body: string) {
    this.sent.push({ to, body })
  }
  lastCode(to: string): string {
    const text = this.sent.findLast((message) => message.to === to)?.body
    const code = text?.match(/\b(\d{6})\b/)?.[1]
    if (!code) throw new Error(`no code was texted to ${to}`)
    return code
  }
}

export interface TestServer {
  mode: Mode
  url: string
  app: App
  deps: Deps
  clock: ManualClock
  sms: SmsOutbox
  client(accessToken?: string | null): RestClient
  close(): Promise<void>
}

/** Starts a fresh server on an ephemeral port with its own database (and Redis namespace). */
export async function startServer(mode: Mode, env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'))
  let databaseUrl: string | undefined
  let dropDatabase = async () => {}
  const s3 = mode === 'postgres+redis' ? s3Settings() : null
  if (mode === 'postgres+redis') {
    if (!adminUrl) throw new Error('postgres+redis mode needs PARLEY_TEST_DATABASE_URL')
    const name = `parley_test_${crypto.randomBytes(6).toString('hex')}`
    await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
    dropDatabase = async () => {
      // pg's pool.end() resolves before its backends have exited; forcing the drop while one lingers
      // makes that connection report a FATAL error after the test. Wait for them (bounded) first.
      for (let tries = 0; tries < 50; tries++) {
        const active = await adminQuery(adminUrl, `SELECT 1 FROM pg_stat_activity WHERE datname = '${name}'`)
        if (active === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }
  const config: Config = loadConfig({
    PARLEY_DATA_DIR: dataDir,
    PARLEY_LOG_LEVEL: process.env.PARLEY_TEST_LOG_LEVEL ?? 'silent',
    PARLEY_HOST: '127.0.0.1',
    PARLEY_PORT: '0',
    ...(databaseUrl ? { PARLEY_DATABASE_URL: databaseUrl, PARLEY_REDIS_URL: redisUrl } : {}),
    ...(s3 ? s3.env : {}),
    ...(clamavUrl ? { PARLEY_CLAMAV_URL: clamavUrl } : {}),
    ...env,
  })
  const clock = new ManualClock(Date.now())
  const sms = new SmsOutbox()
  const deps = await buildDeps(config, {
    clock,
    sms,
    log: pino({ level: config.logLevel }),
    redisPrefix: `parley-test:${crypto.randomBytes(6).toString('hex')}:`,
  })
  const app = await buildApp(deps)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('server has no port')
  const url = `http://127.0.0.1:${address.port}`
  return {
    mode,
    url,
    app,
    deps,
    clock,
    sms,
    client: (accessToken = null) => new RestClient({ baseUrl: url, accessToken }),
    async close() {
      await app.close()
      await deps.close()
      await dropDatabase()
      if (s3) await dropBucket(s3.bucket)
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Runs one statement as the admin; answers the number of rows it returned. */
async function adminQuery(url: string, statement: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(statement)).rowCount ?? 0
  } finally {
    await client.end()
  }
}
