import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { createUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

interface ErrorBody {
  success: false
  error: { code: string; message: string; details?: unknown }
}

/** The value of one Prometheus sample whose labels include `labels`, or undefined if there is none. */
function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1], label[2]]),
    )
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3])
  }
  return undefined
}

async function metrics(server: TestServer): Promise<string> {
  const response = await fetch(`${server.url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
  return response.text()
}

/** Every `$ref` in an OpenAPI document, to check that each one resolves. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refs(item, found)
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value)
      else refs(value, found)
    }
  }
  return found
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

describe.each(MODES)('operations (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  describe('health', () => {
    it('GET /health answers ok', async () => {
      const { status, body } = await server.client().raw('GET', '/health')
      expect(status).toBe(200)
      expect(body).toEqual({ status: 'ok' })
    })

    it('GET /health/detailed checks the database and the bus of this mode', async () => {
      const { status, body } = await server.client().raw('GET', '/health/detailed')
      expect(status).toBe(200)
      expect(body).toMatchObject({
        status: 'ok',
        mode:
          mode === 'sqlite' ? { database: 'sqlite', bus: 'memory' } : { database: 'postgres', bus: 'redis' },
        checks: { database: { status: 'ok' }, bus: { status: 'ok' } },
      })
    })

    it('GET /health/detailed answers 503 degraded when the bus does not answer', async () => {
      const bus = server.deps.bus
      const app = await buildApp({
        ...server.deps,
        bus: {
          publish: (topic, payload) => bus.publish(topic, payload),
          subscribe: (topic, handler) => bus.subscribe(topic, handler),
          ping: () => Promise.reject(new Error('bus unreachable')),
          close: async () => {},
          onReconnect: () => {},
          topicCount: 0,
        },
      })
      try {
        const response = await app.inject({ method: 'GET', url: '/health/detailed' })
        expect(response.statusCode).toBe(503)
        expect(response.json()).toMatchObject({
          status: 'degraded',
          checks: { database: { status: 'ok' }, bus: { status: 'error', error: 'bus unreachable' } },
        })
      } finally {
        await app.close()
      }
    })
  })

  describe('metrics', () => {
    it('times requests by route template, not by raw URL', async () => {
      await server.client().raw('GET', '/health')
      await server.client().raw('DELETE', '/api/auth/sessions/some-session-id')
      const text = await metrics(server)

      expect(
        sample(text, 'parley_http_request_duration_seconds_count', {
          method: 'GET',
          route: '/health',
          status: '200',
        }),
      ).toBeGreaterThanOrEqual(1)
      expect(
        sample(text, 'parley_http_request_duration_seconds_count', {
          method: 'DELETE',
          route: '/api/auth/sessions/:id',
          status: '401',
        }),
      ).toBe(1)
      expect(text).not.toContain('some-session-id')
    })

    it('counts error answers by code', async () => {
      const before = sample(await metrics(server), 'parley_http_errors_total', { code: 'not_found' }) ?? 0
      const { status } = await server.client().raw('GET', '/no-such-route-42')
      expect(status).toBe(404)
      const text = await metrics(server)
      expect(sample(text, 'parley_http_errors_total', { code: 'not_found' })).toBe(before + 1)
      expect(text).not.toContain('no-such-route-42')
    })

    it('counts signed-in sessions', async () => {
      const before = sample(await metrics(server), 'parley_active_sessions')
      expect(before).toBeTypeOf('number')
      const user = await createUser(server)
      expect(sample(await metrics(server), 'parley_active_sessions')).toBe((before ?? 0) + 1)
      await user.client.auth.logout()
      expect(sample(await metrics(server), 'parley_active_sessions')).toBe(before)
    })
  })

  describe('API documentation', () => {
    it('serves an OpenAPI 3 document of the routes at /openapi.json', async () => {
      const { status, body } = await server.client().raw('GET', '/openapi.json')
      expect(status).toBe(200)
      const document = body as {
        openapi: string
        info: { title: string; version: string }
        paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>
        components?: Record<string, Record<string, unknown>>
      }
      expect(document.openapi).toMatch(/^3\.\d+\.\d+$/)
      expect(document.info.title).toBe('Parley API')
      expect(document.info.version).toBeTruthy()
      for (const path of [
        '/api/auth/send-otp',
        '/api/auth/verify-otp',
        '/api/auth/register',
        '/api/auth/login',
        '/api/auth/refresh',
        '/api/auth/logout',
        '/api/auth/sessions',
        '/api/auth/sessions/{id}',
        '/health',
        '/health/detailed',
      ]) {
        expect(document.paths, path).toHaveProperty([path])
      }
      for (const hidden of ['/metrics', '/openapi.json', '/'])
        expect(document.paths).not.toHaveProperty([hidden])
      // Structurally valid: every operation documents its answers and every $ref resolves.
      for (const [path, item] of Object.entries(document.paths)) {
        expect(path).toMatch(/^\/[^:]*$/)
        for (const [method, operation] of Object.entries(item)) {
          if (!HTTP_METHODS.includes(method)) continue
          expect(Object.keys(operation.responses ?? {}), `${method} ${path} responses`).not.toHaveLength(0)
        }
      }
      for (const ref of refs(document)) {
        const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? []
        expect(section && name ? document.components?.[section]?.[name] : undefined, ref).toBeDefined()
      }
    })

    it('documents the send-otp body from the shared schema', async () => {
      const { body } = await server.client().raw('GET', '/openapi.json')
      const operation = (
        body as {
          paths: Record<
            string,
            { post: { requestBody: { content: Record<string, { schema: { required: string[] } }> } } }
          >
        }
      ).paths['/api/auth/send-otp']?.post
      expect(operation?.requestBody.content['application/json']?.schema.required).toEqual(['phone_number'])
    })

    it('serves Swagger UI at /docs', async () => {
      const response = await fetch(`${server.url}/docs`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await response.text()).toMatch(/swagger-ui/i)
    })
  })

  describe('HTTP hygiene', () => {
    it('sets security headers', async () => {
      const { headers } = await server.client().raw('GET', '/health')
      expect(headers.get('x-content-type-options')).toBe('nosniff')
      expect(headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
      expect(headers.get('content-security-policy')).toContain("default-src 'self'")
      expect(headers.get('referrer-policy')).toBe('no-referrer')
      expect(headers.get('x-powered-by')).toBeNull()
    })

    it('allows no cross-origin callers unless configured', async () => {
      const { headers } = await server.client().raw('GET', '/health', {
        headers: { origin: 'https://elsewhere.example' },
      })
      expect(headers.get('access-control-allow-origin')).toBeNull()
    })

    it('puts an x-request-id on every answer and keeps a well-formed incoming one', async () => {
      const client = server.client()
      for (const [method, path] of [
        ['GET', '/health'],
        ['GET', '/nope'],
        ['GET', '/api/auth/sessions'],
      ] as const) {
        const { headers } = await client.raw(method, path)
        expect(headers.get('x-request-id'), `${method} ${path}`).toMatch(/^[0-9a-f-]{36}$/)
      }
      const kept = await client.raw('GET', '/health', { headers: { 'x-request-id': 'lb-trace-123' } })
      expect(kept.headers.get('x-request-id')).toBe('lb-trace-123')
      const replaced = await client.raw('GET', '/health', { headers: { 'x-request-id': 'bad id; drop' } })
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('answers an unknown route with 404 not_found', async () => {
      const { status, body } = await server.client().raw('POST', '/api/does-not-exist', { body: {} })
      expect(status).toBe(404)
      expect((body as ErrorBody).success).toBe(false)
      expect((body as ErrorBody).error.code).toBe('not_found')
    })

    it('answers malformed JSON with 400 invalid_body', async () => {
      const { status, body } = await server.client().raw('POST', '/api/auth/send-otp', {
        body: '{"phone_number": "+1415',
      })
      expect(status).toBe(400)
      expect((body as ErrorBody).error.code).toBe('invalid_body')
    })

    it('answers a schema violation with 400 validation_error naming the field', async () => {
      const { status, body } = await server.client().raw('POST', '/api/auth/send-otp', {
        body: { phone_number: { national: '4155550123' } },
      })
      expect(status).toBe(400)
      const { error } = body as ErrorBody
      expect(error.code).toBe('validation_error')
      expect(error.details).toEqual([{ field: 'phone_number', message: expect.stringMatching(/string/) }])
    })

    it('names an unexpected field in a validation_error', async () => {
      const { status, body } = await server.client().raw('POST', '/api/auth/send-otp', {
        body: { phone_number: '+14155550123', is_admin: true },
      })
      expect(status).toBe(400)
      const { error } = body as ErrorBody
      expect(error.code).toBe('validation_error')
      expect(error.details).toEqual([expect.objectContaining({ field: 'is_admin' })])
    })

    it('names a missing field in a validation_error', async () => {
      const { status, body } = await server.client().raw('POST', '/api/auth/send-otp', { body: {} })
      expect(status).toBe(400)
      const { error } = body as ErrorBody
      expect(error.code).toBe('validation_error')
      expect(error.details).toEqual([expect.objectContaining({ field: 'phone_number' })])
    })

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
      'answers a %s body with 415 unsupported_media_type',
      async (contentType) => {
        const { status, body } = await server.client().raw('POST', '/api/auth/send-otp', {
          body: '{"phone_number":"+14155550123"}',
          headers: { 'content-type': contentType },
        })
        expect(status).toBe(415)
        expect((body as ErrorBody).error).toEqual({
          code: 'unsupported_media_type',
          message: expect.stringContaining(contentType),
        })
      },
    )

    it('answers an unexpected exception with 500 internal_error, logging it with the request id', async () => {
      const lines: Array<{ level: number; msg: string; req_id?: string; err?: { message: string } }> = []
      const log = pino(
        { level: 'error' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line))
            done()
          },
        }),
      )
      // A second app on the same deps, with a route that fails the way a bug would.
      const app = await buildApp({ ...server.deps, log })
      app.get('/test/boom', async () => {
        throw new Error('connection string postgres://admin:hunter2@db failed')
      })
      await app.ready()
      try {
        const response = await app.inject({ method: 'GET', url: '/test/boom' })
        expect(response.statusCode).toBe(500)
        expect(response.json()).toEqual({
          success: false,
          error: { code: 'internal_error', message: expect.any(String) },
        })
        expect(response.body).not.toMatch(/hunter2|postgres|stack|Error/)
        const requestId = response.headers['x-request-id']
        expect(requestId).toBeTypeOf('string')
        const logged = lines.find((line) => line.msg === 'unhandled error')
        expect(logged?.req_id).toBe(requestId)
        expect(logged?.err?.message).toContain('hunter2')

        const exposition = await app.inject({ method: 'GET', url: '/metrics' })
        expect(sample(exposition.body, 'parley_http_errors_total', { code: 'internal_error' })).toBe(1)
      } finally {
        await app.close()
      }
    })
  })

  describe('with PARLEY_CORS_ORIGINS and PARLEY_BODY_LIMIT set', () => {
    let configured: TestServer
    beforeAll(async () => {
      configured = await startServer(mode, {
        PARLEY_CORS_ORIGINS: 'https://app.example, https://admin.example',
        PARLEY_BODY_LIMIT: '2048',
      })
    })
    afterAll(async () => {
      await configured?.close()
    })

    it('echoes an allowed origin and not another one', async () => {
      const client = configured.client()
      const allowed = await client.raw('GET', '/health', { headers: { origin: 'https://admin.example' } })
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example')
      expect(allowed.headers.get('access-control-expose-headers')).toMatch(/retry-after.*x-request-id/i)
      const other = await client.raw('GET', '/health', { headers: { origin: 'https://evil.example' } })
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
    })

    it('answers a preflight from an allowed origin', async () => {
      const { status, headers } = await configured.client().raw('OPTIONS', '/api/auth/send-otp', {
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      })
      expect(status).toBe(204)
      expect(headers.get('access-control-allow-origin')).toBe('https://app.example')
      expect(headers.get('access-control-allow-methods')).toContain('POST')
      expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('answers a body over the limit with 413 payload_too_large', async () => {
      const { status, body } = await configured.client().raw('POST', '/api/auth/send-otp', {
        body: { phone_number: '1'.repeat(3000) },
      })
      expect(status).toBe(413)
      expect(body).toMatchObject({
        success: false,
        error: { code: 'payload_too_large', details: { limit: 2048 } },
      })
    })

    it('accepts a body under the limit', async () => {
      const { status } = await configured.client().raw('POST', '/api/auth/send-otp', {
        body: { phone_number: '+14155550199', padding: 'x'.repeat(1500) },
      })
      // Past the size check: the schema refuses the extra field, which shows the body was read.
      expect(status).toBe(400)
    })
  })

  describe('operational endpoints with PARLEY_METRICS_TOKEN set', () => {
    const token = 'metrics-token-0123456789abcdef0123456789'
    let guarded: TestServer
    beforeAll(async () => {
      guarded = await startServer(mode, { PARLEY_METRICS_TOKEN: token })
    })
    afterAll(async () => {
      await guarded?.close()
    })

    it.each(['/metrics', '/health/detailed'])(
      '%s answers 401 unauthorized without the token or with a wrong one, 200 with it',
      async (path) => {
        const attempts: Array<Record<string, string>> = [
          {},
          { authorization: `Bearer ${token}x` },
          { authorization: token },
        ]
        for (const headers of attempts) {
          const response = await fetch(`${guarded.url}${path}`, { headers })
          expect(response.status, JSON.stringify(headers)).toBe(401)
          expect(await response.json()).toEqual({
            success: false,
            error: { code: 'unauthorized', message: expect.any(String) },
          })
        }
        const allowed = await fetch(`${guarded.url}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        })
        expect(allowed.status).toBe(200)
      },
    )
  })

  describe('operational endpoints without a token, behind a proxy (PARLEY_TRUST_PROXY=true)', () => {
    let proxied: TestServer
    beforeAll(async () => {
      proxied = await startServer(mode, { PARLEY_TRUST_PROXY: 'true' })
    })
    afterAll(async () => {
      await proxied?.close()
    })

    it.each(['/metrics', '/health/detailed'])(
      '%s answers a client forwarded from elsewhere 404 not_found, like an unknown route',
      async (path) => {
        const response = await fetch(`${proxied.url}${path}`, {
          headers: { 'x-forwarded-for': '203.0.113.7' },
        })
        expect(response.status).toBe(404)
        expect(await response.json()).toEqual({
          success: false,
          error: { code: 'not_found', message: `Route GET ${path} not found` },
        })
        // A client on the server machine itself still reads it.
        const local = await fetch(`${proxied.url}${path}`, { headers: { 'x-forwarded-for': '127.0.0.1' } })
        expect(local.status).toBe(200)
        // Liveness stays open to all.
        const health = await fetch(`${proxied.url}/health`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
        expect(health.status).toBe(200)
      },
    )

    it.each(['/metrics', '/health/detailed'])(
      '%s is not opened by a client that writes X-Forwarded-For: 127.0.0.1 itself (the proxy appends the real one)',
      async (path) => {
        for (const forged of ['127.0.0.1, 203.0.113.7', '::1, 203.0.113.7', '127.0.0.1,203.0.113.7']) {
          const response = await fetch(`${proxied.url}${path}`, { headers: { 'x-forwarded-for': forged } })
          expect(response.status, forged).toBe(404)
          expect(await response.json()).toMatchObject({ success: false, error: { code: 'not_found' } })
        }
      },
    )

    it('a client cannot dodge the sign-in lock-out by writing a new X-Forwarded-For for every try', async () => {
      const user = await createUser(proxied)
      const client = proxied.client()
      const statuses: number[] = []
      for (let attempt = 1; attempt <= 8; attempt++) {
        const answer = await client.raw('POST', '/api/auth/login', {
          headers: { 'x-forwarded-for': `198.51.100.${attempt}, 203.0.113.7` },
          body: { username: user.username, password: 'wrong password' },
        })
        statuses.push(answer.status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    })

    it('counts an IPv6 client by its /64: new addresses from one network share one lock-out', async () => {
      const user = await createUser(proxied)
      const client = proxied.client()
      const statuses: number[] = []
      for (const address of [
        '2001:db8:1:2::1',
        '2001:db8:1:2::2',
        '2001:DB8:1:2:ffff::9',
        '2001:db8:1:2:0:0:0:a',
        '2001:db8:1:2::b',
        '2001:db8:1:2::c',
      ]) {
        const answer = await client.raw('POST', '/api/auth/login', {
          headers: { 'x-forwarded-for': address },
          body: { username: user.username, password: 'wrong password' },
        })
        statuses.push(answer.status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
      // Another network is another client.
      const elsewhere = await client.raw('POST', '/api/auth/login', {
        headers: { 'x-forwarded-for': '2001:db8:1:3::1' },
        body: { username: user.username, password: user.password },
      })
      expect(elsewhere.status).toBe(200)
    })
  })

  describe('with PARLEY_RATE_LIMIT_PER_IP=5', () => {
    let limited: TestServer
    beforeAll(async () => {
      limited = await startServer(mode, {
        PARLEY_RATE_LIMIT_PER_IP: '5',
        PARLEY_CORS_ORIGINS: 'https://app.example',
      })
    })
    afterAll(async () => {
      await limited?.close()
    })

    it('refuses the 6th request in a minute with 429 rate_limited and Retry-After, until the window ends', async () => {
      const client = limited.client()
      for (let i = 1; i <= 5; i++) {
        const { status } = await client.raw('GET', '/api/auth/sessions')
        expect(status, `request ${i}`).toBe(401)
      }
      const refused = await client.raw('GET', '/api/auth/sessions')
      expect(refused.status).toBe(429)
      const { error } = refused.body as ErrorBody
      expect(error.code).toBe('rate_limited')
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(error.details).toEqual({ retry_after: retryAfter })
      expect(refused.headers.get('x-request-id')).toBeTruthy()
      // A browser on an allowed origin can read the refusal, and it keeps the security headers.
      const fromBrowser = await client.raw('GET', '/api/auth/sessions', {
        headers: { origin: 'https://app.example' },
      })
      expect(fromBrowser.status).toBe(429)
      expect(fromBrowser.headers.get('access-control-allow-origin')).toBe('https://app.example')
      expect(fromBrowser.headers.get('x-content-type-options')).toBe('nosniff')

      // Load balancers and scrapers are never limited.
      expect((await client.raw('GET', '/health')).status).toBe(200)
      expect((await client.raw('GET', '/health/detailed')).status).toBe(200)

      limited.clock.advance(retryAfter * 1000)
      expect((await client.raw('GET', '/api/auth/sessions')).status).toBe(401)
    })
  })
})

describe('embedded data files (sqlite)', () => {
  const mode = (file: string) => fs.statSync(file).mode & 0o777

  it('keeps the data dir 0700 and the database, its WAL files and the JWT secret 0600, also when they existed', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-modes-'))
    const dataDir = path.join(parent, 'data')
    // What an older version or a loose umask leaves behind: a world-readable dir and secret.
    fs.mkdirSync(dataDir, { mode: 0o755 })
    fs.chmodSync(dataDir, 0o755)
    fs.writeFileSync(path.join(dataDir, 'jwt-secret'), 's'.repeat(64))
    fs.chmodSync(path.join(dataDir, 'jwt-secret'), 0o644)
    const previous = process.umask(0o022)
    let server: TestServer | undefined
    try {
      server = await startServer('sqlite', { PARLEY_DATA_DIR: dataDir })
      await createUser(server) // a write, so the WAL is in use
      expect(mode(dataDir)).toBe(0o700)
      for (const file of ['parley.db', 'parley.db-wal', 'parley.db-shm', 'jwt-secret']) {
        expect(mode(path.join(dataDir, file)), file).toBe(0o600)
      }
    } finally {
      process.umask(previous)
      await server?.close()
      fs.rmSync(parent, { recursive: true, force: true })
    }
  })
})
