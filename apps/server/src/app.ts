import crypto from 'node:crypto'
import type http from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import multipart from '@fastify/multipart'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { loneSurrogatePath, nulBytePath } from '@parley/protocol'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import secureJson from 'secure-json-parse'
import type { Deps } from './deps.ts'
import { errors } from './errors.ts'
import { registerGateway } from './gateway/gateway.ts'
import { MULTIPART_LIMITS } from './http/multipart.ts'
import {
  clientErrorHandler,
  errorBody,
  frameworkErrorHandler,
  registerErrorHandling,
  writeRawError,
} from './http/plugins/errors.ts'
import { createMetrics, registerMetrics } from './http/plugins/metrics.ts'
import { compileUrlValidator } from './http/route-schema.ts'
import { adminRoutes } from './http/routes/admin.routes.ts'
import { authRoutes } from './http/routes/auth.routes.ts'
import { avatarRoutes } from './http/routes/avatars.routes.ts'
import { broadcastingRoutes } from './http/routes/broadcasting.routes.ts'
import { chatRoutes } from './http/routes/chats.routes.ts'
import { contactRoutes } from './http/routes/contacts.routes.ts'
import { groupsRoutes } from './http/routes/groups.routes.ts'
import { healthRoutes } from './http/routes/health.routes.ts'
import { mediaRoutes } from './http/routes/media.routes.ts'
import { messageOpsRoutes } from './http/routes/message-ops.routes.ts'
import { messageRoutes } from './http/routes/messages.routes.ts'
import { searchRoutes } from './http/routes/search.routes.ts'
import { syncRoutes } from './http/routes/sync.routes.ts'
import { userRoutes } from './http/routes/users.routes.ts'
import { loadWebApp, webRoutes } from './http/routes/web.routes.ts'
import type { App } from './http/types.ts'
import { clientNetwork } from './limits/client-network.ts'
import { enforceLimit } from './limits/enforce.ts'
import { createAjv } from './validation.ts'

// Paths that load balancers and scrapers hit: never rate limited.
const UNLIMITED = new Set(['/health', '/health/detailed', '/metrics'])

/**
 * JSON bodies are taken as typed (a number is not a string); query strings and path parameters are
 * text on the wire, so those are coerced to the schema's types. Socket request frames are checked by
 * the same validator as bodies (validation.ts).
 */
function createValidators() {
  return { body: createAjv(false), url: createAjv('array') }
}

/**
 * A connection must send its first request's headers (a WebSocket upgrade's too) within `ms` of opening.
 * Node holds a connection whose headers stop halfway, or never start, for as long as it stays silent
 * (its own headersTimeout is checked only while bytes arrive): one client could hold thousands of
 * sockets that never reach a per-IP limit or socket cap (slowloris). Later requests on a kept-alive
 * connection are bounded by Node's keepAliveTimeout and headersTimeout (set to the same `ms`).
 */
function closeSlowConnections(server: http.Server, ms: number): void {
  server.headersTimeout = ms
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>()
  const met = (socket: Socket) => {
    clearTimeout(deadlines.get(socket))
    deadlines.delete(socket)
  }
  server.on('connection', (socket: Socket) => {
    const deadline = setTimeout(() => socket.destroy(), ms)
    deadline.unref()
    deadlines.set(socket, deadline)
    socket.once('close', () => met(socket))
  })
  server.on('request', (request: http.IncomingMessage) => met(request.socket))
  server.on('upgrade', (request: http.IncomingMessage) => met(request.socket))
}

/** Builds the HTTP app on the given deps. It never listens: main.ts and tests decide where. */
export async function buildApp(deps: Deps): Promise<App> {
  const validators = createValidators()
  const metrics = createMetrics(deps)
  const errorOptions = {
    bodyLimit: deps.config.bodyLimit,
    onError: (code: string) => metrics.errorsTotal.inc({ code }),
  }
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    // One hop (the peer is the proxy): the client is the address that proxy appended, the last
    // X-Forwarded-For entry. `true` would take the first entry, which the client writes itself: a forged
    // `X-Forwarded-For: 127.0.0.1` would pass for local and every request could pick its own IP.
    trustProxy: deps.config.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && /^[\w-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID()
    },
    // The answers Fastify and Node would write themselves, in the documented error shape instead.
    frameworkErrors: frameworkErrorHandler(errorOptions),
    clientErrorHandler: clientErrorHandler(errorOptions),
    // Node would answer an HTTP/1.1 request without Host itself, with a bare 400 and no body; the hook
    // below refuses it in the documented shape instead.
    http: { requireHostHeader: false },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(({ schema, httpPart, contentType }) =>
    // A multipart body is read as a stream by its route (http/multipart.ts), which checks each part as
    // it arrives; its schema only documents the form in OpenAPI.
    httpPart === 'body' && contentType === 'multipart/form-data'
      ? () => true
      : httpPart === 'body'
        ? validators.body.compile(schema)
        : compileUrlValidator(validators.url, schema),
  )

  app.decorateRequest('auth', null)
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id)
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined)
      throw errors.badRequest('An HTTP/1.1 request needs a Host header')
  })
  // The web client (apps/web/dist): read once; client routes fall back to its index.html.
  const web = loadWebApp()
  registerErrorHandling(app, { ...errorOptions, clientPage: web.clientPage })
  // Node answers these two itself, outside Fastify: CONNECT (no proxying here) and an Expect header
  // other than 100-continue.
  app.server.on('connect', (_request, socket) =>
    writeRawError(
      socket,
      errors.methodNotAllowed('CONNECT', ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
      errorOptions,
    ),
  )
  closeSlowConnections(app.server, deps.config.httpHeadersTimeoutMs)
  app.server.on('checkExpectation', (_request, response) => {
    const apiError = errors.badRequest('Only the 100-continue expectation is supported', 417)
    errorOptions.onError(apiError.code)
    response.writeHead(apiError.status, { 'content-type': 'application/json; charset=utf-8' })
    response.end(JSON.stringify(errorBody(apiError)))
  })
  // The API speaks JSON only: a text/plain body is answered 415, not parsed into a string.
  app.removeContentTypeParser('text/plain')
  // Fastify's own JSON parser answers every failure alike; this one says when a prototype key is the cause.
  app.removeContentTypeParser('application/json')
  // JSON is UTF-8 (RFC 8259): another declared charset is 415, and bytes that are not UTF-8 are refused
  // rather than read as U+FFFD (which would store something other than what was sent).
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]
    if (charset !== undefined && !/^utf-?8$/i.test(charset))
      return done(errors.unsupportedMediaType(`application/json; charset=${charset}`))
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      return done(errors.invalidBody('The request body is not valid UTF-8'))
    }
    if (text === '') return done(errors.invalidBody('The request body is empty but JSON was declared'))
    try {
      done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      done(
        error instanceof SyntaxError && /prototype/i.test(error.message)
          ? errors.invalidBody(
              'The request body contains a forbidden key (__proto__ or constructor.prototype)',
            )
          : errors.invalidBody(),
      )
    }
  })

  // helmet's default CSP (scripts from this origin only, no inline script) covers the web app, whose
  // build has no inline script. Not upgrade-insecure-requests: a self-hosted server on plain HTTP (a LAN
  // address) would have its own scripts and socket rewritten to https and break; HTTPS deployments get
  // HSTS. Swagger UI at /docs needs inline scripts and styles: only its routes get them.
  // Media: `<img>`/`<video>`/`<audio>` load /api/media/* (redirected to this origin's signed blob URL, or
  // to the S3 endpoint's), blob: for the previews of files about to be sent, data: for placeholders.
  const mediaSources = ["'self'", 'blob:', 'data:', ...s3Origins(deps.config.s3)]
  const directives = {
    'upgrade-insecure-requests': null,
    'img-src': mediaSources,
    'media-src': mediaSources,
  }
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      route.config = Object.assign(route.config ?? {}, {
        helmet: {
          contentSecurityPolicy: {
            directives: {
              ...directives,
              'script-src': ["'self'", "'unsafe-inline'"],
              'style-src': ["'self'", "'unsafe-inline'"],
            },
          },
        },
      })
    }
  })
  await app.register(helmet, { contentSecurityPolicy: { directives } })
  const origins = deps.config.corsOrigins
  await app.register(cors, {
    origin: origins.includes('*') ? true : origins.length > 0 ? origins : false,
    credentials: false,
    // Not CORS-safelisted, so a browser client could not read them otherwise.
    exposedHeaders: ['retry-after', 'x-request-id'],
  })
  // After helmet and cors, so a 429 still carries security headers and CORS (a browser can read it).
  app.addHook('onRequest', async (request) => {
    if (!UNLIMITED.has(request.url.split('?')[0] ?? '')) {
      await enforceLimit(deps, `ip:${clientNetwork(request.ip)}`, deps.config.rateLimitPerIp)
    }
  })

  // Before any schema: a NUL byte or an unpaired surrogate in any string of the body, query or path is
  // refused here, once.
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const) {
      const field = nulBytePath(value)
      if (field !== null) {
        throw errors.validation(`Invalid ${part}: ${field} must not contain a NUL byte`, [
          { field, message: 'must not contain a NUL byte (U+0000)' },
        ])
      }
      const unpaired = loneSurrogatePath(value)
      if (unpaired !== null) {
        throw errors.validation(`Invalid ${part}: ${unpaired} must be well-formed Unicode`, [
          { field: unpaired, message: 'must not contain an unpaired surrogate (U+D800–U+DFFF)' },
        ])
      }
    }
  })

  // multipart/form-data (seed 002's media sends, avatars, group create): parts are streamed to the
  // routes that take them, never buffered; limits in http/multipart.ts.
  await app.register(multipart, { limits: MULTIPART_LIMITS, throwFileSizeLimit: true })
  // Only routes that document a multipart body take one; elsewhere it stays a 415, as before.
  app.addHook('preValidation', async (request) => {
    const body = request.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined
    if (request.isMultipart() && body?.content?.['multipart/form-data'] === undefined)
      throw errors.unsupportedMediaType('multipart/form-data')
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Parley API',
        version: '0.1.0',
        description:
          'REST API of Parley. Errors are `{"success": false, "error": {"code", "message", "details"?}}`. WebSocket frames are described in docs/api/websocket.md.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'The PARLEY_ADMIN_TOKEN setting; without it the admin API answers 404.',
          },
          mediaCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'parley_media',
            description: 'Set by `POST /api/media/cookie`; accepted on `GET /api/media/*` only.',
          },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  registerMetrics(app, deps, metrics)
  await registerGateway(app, deps, metrics.registry)
  // The ws library refuses a malformed upgrade (no key, wrong version) with a text/html answer of its own.
  app.websocketServer.on('wsClientError', (error: Error, socket: Duplex) =>
    writeRawError(socket, errors.badRequest(`WebSocket handshake refused: ${error.message}`), errorOptions),
  )
  healthRoutes(app, deps)
  authRoutes(app, deps)
  userRoutes(app, deps)
  contactRoutes(app, deps)
  chatRoutes(app, deps)
  messageRoutes(app, deps)
  groupsRoutes(app, deps)
  messageOpsRoutes(app, deps)
  searchRoutes(app, deps)
  syncRoutes(app, deps)
  adminRoutes(app, deps)
  broadcastingRoutes(app, deps)
  mediaRoutes(app, deps, metrics)
  avatarRoutes(app, deps)
  await webRoutes(app, web)
  return app
}

/** Where signed S3 URLs point (path-style or virtual-hosted), for the CSP's media sources. */
function s3Origins(s3: { endpoint: string | null; region: string; bucket: string } | null): string[] {
  if (!s3) return []
  if (s3.endpoint) {
    const endpoint = new URL(s3.endpoint)
    return [endpoint.origin, `${endpoint.protocol}//*.${endpoint.host}`]
  }
  return [`https://*.s3.${s3.region}.amazonaws.com`, `https://s3.${s3.region}.amazonaws.com`]
}
