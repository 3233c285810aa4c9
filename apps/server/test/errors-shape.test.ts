import { ERROR_CODES } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawHttp } from './helpers/raw-http.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/**
 * Every error the server emits, whoever produces it (Node's HTTP parser, Fastify's router, a plugin, a
 * hook, a route), has the documented body `{success: false, error: {code, message, details?}}` with a
 * code from ERROR_CODES. The requests go over a raw TCP socket so nothing normalises them on the way.
 */

const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`
const post = (path: string, body: string, headers = 'Content-Type: application/json\r\n') =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const upgrade = (headers: string) =>
  get('/ws', `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n${headers}`)
const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'

interface Case {
  name: string
  request: string
  status: number
  code: string
  message?: RegExp
  headers?: Record<string, RegExp>
}

const CASES: Case[] = [
  // The router refuses the URL before any route or hook runs (Fastify's FST_ERR_BAD_URL before).
  {
    name: 'a path with invalid percent-encoding',
    request: get('/api/users/%E0%A4%A'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a path with a truncated escape',
    request: get('/api/messages/%'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a path parameter over the router limit',
    request: get(`/api/users/${'1'.repeat(300)}`),
    status: 414,
    code: 'bad_request',
  },
  // Node's HTTP parser refuses the bytes: there is no request object at all.
  {
    name: 'an absurd method',
    request: get('/health').replace(/^GET/, 'FROBNICATE'),
    status: 400,
    code: 'bad_request',
  },
  { name: 'a garbage request line', request: 'hello there\r\n\r\n', status: 400, code: 'bad_request' },
  // Node answered this one itself with a bare 400 and no body.
  {
    name: 'an HTTP/1.1 request without Host',
    request: 'GET /api/users/1 HTTP/1.1\r\n\r\n',
    status: 400,
    code: 'bad_request',
    message: /Host/,
  },
  {
    name: 'an unknown HTTP version',
    request: get('/health').replace('HTTP/1.1', 'HTTP/7.0'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a header line without a colon',
    request: get('/health', 'Broken header\r\n'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a control character in a header value',
    request: get('/health', 'X-Thing: a\u0001b\r\n'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a 20 KB header',
    request: get('/health', `X-Big: ${'a'.repeat(20_000)}\r\n`),
    status: 431,
    code: 'bad_request',
  },
  { name: 'a 100 KB URL', request: get(`/${'a'.repeat(100_000)}`), status: 431, code: 'bad_request' },
  {
    name: 'a non-numeric Content-Length',
    request:
      'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'both Content-Length and Transfer-Encoding',
    request:
      'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a malformed chunk size',
    request:
      'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an Expect other than 100-continue',
    request: post('/api/auth/login', '{}', 'Content-Type: application/json\r\nExpect: the-unexpected\r\n'),
    status: 417,
    code: 'bad_request',
  },
  {
    name: 'CONNECT',
    request: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
  },
  // A known path with a method it does not take: 405 with Allow, not a 404 that says the path is missing.
  {
    name: 'PUT on a GET-only path',
    request: 'PUT /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
    headers: { allow: /^GET, HEAD$/ },
  },
  {
    name: 'GET on a POST-only path',
    request: get('/api/auth/login'),
    status: 405,
    code: 'method_not_allowed',
    headers: { allow: /^POST$/ },
  },
  {
    name: 'DELETE on a path with parameters',
    request: 'DELETE /api/messages/12/reactions HTTP/1.1\r\nHost: localhost\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
    headers: { allow: /POST/ },
  },
  {
    name: 'a CORS preflight when no origin is allowed',
    request:
      'OPTIONS /api/auth/login HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n',
    status: 405,
    code: 'method_not_allowed',
  },
  // The body parser's prototype-poisoning guard (Fastify's onProtoPoisoning / onConstructorPoisoning).
  {
    name: 'a body with a __proto__ key',
    request: post('/api/auth/login', '{"username":"a","password":"b","__proto__":{"admin":true}}'),
    status: 400,
    code: 'invalid_body',
    message: /__proto__/,
  },
  {
    name: 'a body with constructor.prototype',
    request: post(
      '/api/auth/login',
      '{"username":"a","password":"b","constructor":{"prototype":{"admin":true}}}',
    ),
    status: 400,
    code: 'invalid_body',
    message: /prototype/,
  },
  // JSON is UTF-8: another declared charset was parsed as UTF-8 anyway.
  {
    name: 'a JSON body declared in another charset',
    request: post(
      '/api/auth/login',
      '{"username":"a","password":"b"}',
      'Content-Type: application/json; charset=ISO-8859-1\r\n',
    ),
    status: 415,
    code: 'unsupported_media_type',
  },
  // Plugins: the WebSocket route and the ws library, Swagger UI's static files.
  { name: 'a plain GET of /ws', request: get('/ws'), status: 404, code: 'not_found' },
  { name: 'POST /ws', request: post('/ws', '{}'), status: 405, code: 'method_not_allowed' },
  { name: 'an upgrade without Sec-WebSocket-Key', request: upgrade(''), status: 400, code: 'bad_request' },
  {
    name: 'an upgrade to another protocol',
    request: get('/ws', `Connection: Upgrade\r\nUpgrade: h2c\r\n${KEY}`),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an upgrade with an unsupported version',
    request: upgrade(KEY).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a path that climbs out of the Swagger UI files',
    request: get('/docs/static/../../package.json'),
    status: 403,
    code: 'forbidden',
  },
]

describe.each(MODES)('error answers keep the documented shape (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('refuses a JSON body whose bytes are not UTF-8 instead of storing U+FFFD for them', async () => {
    const response = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      // "Jos\xE9" in Latin-1: 0xE9 alone is not UTF-8.
      body: Buffer.concat([
        Buffer.from('{"username":"jose_latin1","password":"correct horse battery","name":"Jos'),
        Buffer.from([0xe9]),
        Buffer.from('"}'),
      ]),
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ success: false, error: { code: 'invalid_body' } })
    for (const charset of ['utf-8', 'UTF8', '"utf-8"']) {
      const fine = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': `application/json; charset=${charset}` },
        body: '{"username":"nobody_here","password":"wrong password"}',
      })
      expect(fine.status, charset).toBe(401)
    }
  })

  it.each(CASES)('$name → $status $code', async ({ request, status, code, message, headers }) => {
    const response = await rawHttp(server.url, request)
    expect(response.status).toBe(status)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(response.body) as { success: unknown; error: Record<string, unknown> }
    expect(body).toEqual({
      success: false,
      error: {
        code,
        message: expect.any(String),
        ...('details' in body.error ? { details: expect.anything() } : {}),
      },
    })
    expect(ERROR_CODES).toContain(body.error.code)
    if (message) expect(body.error.message).toMatch(message)
    for (const [name, value] of Object.entries(headers ?? {})) expect(response.headers[name]).toMatch(value)
  })
})
