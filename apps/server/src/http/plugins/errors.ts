import http from 'node:http'
import type { Duplex } from 'node:stream'
import { ERROR_CODES } from '@parley/protocol'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay from 'find-my-way'
import { ApiError, errors } from '../../errors.ts'
import { infrastructureError } from '../../infrastructure-errors.ts'
import { validationDetails } from '../../validation.ts'
import type { App } from '../types.ts'

/**
 * Every error the server emits has the documented body `{success: false, error: {code, message,
 * details?}}` with a code from ERROR_CODES. Errors reach the client by five doors, each closed here:
 * - thrown by a hook or handler → the error handler (`toApiError`);
 * - no route for the path → the not-found handler (404, or 405 when the path exists for other methods);
 * - Fastify's router refusing the URL (bad percent-encoding, too long parameter) → `frameworkErrors`;
 * - Node's HTTP parser refusing the request (bad request line, header, framing, headers too large,
 *   request timeout) → `clientErrorHandler`, which writes to the raw socket;
 * - a plugin answering an error status with its own body (or none) → the `onSend` hook rewrites it.
 */

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES)

/** The coded error for an HTTP status when nothing more specific is known. */
export function errorForStatus(
  status: number,
  context: { bodyLimit: number; contentType: string },
): ApiError {
  switch (status) {
    case 400:
      return errors.badRequest()
    case 401:
      return errors.unauthorized()
    case 403:
      return errors.forbidden()
    case 404:
      return errors.notFound('Resource')
    case 413:
      return errors.payloadTooLarge(context.bodyLimit)
    case 415:
      return errors.unsupportedMediaType(context.contentType)
    case 503:
      return errors.serviceUnavailable('The service is unavailable; try again')
  }
  if (status >= 400 && status < 500) return errors.badRequest(http.STATUS_CODES[status] ?? undefined, status)
  return errors.internal()
}

/** Turns whatever a handler threw into the coded error body; unknown errors never leak their text. */
export function toApiError(
  error: FastifyError | Error,
  context: { bodyLimit: number; contentType: string | undefined },
): ApiError | null {
  const { bodyLimit } = context
  // Fastify's message for an unparsable content type does not name it; the request header does.
  const contentType = context.contentType?.split(';')[0]?.trim() || '(none)'

  if (error instanceof ApiError) return error
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    const details = validationDetails(fastifyError.validation)
    const where = fastifyError.validationContext ?? 'request'
    return errors.validation(
      `Invalid ${where}: ${details.map((d) => `${d.field ?? where} ${d.message}`).join('; ')}`,
      details,
    )
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(contentType)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidBody('The request body is empty but JSON was declared')
    case 'FST_ERR_BAD_URL':
      return errors.badRequest('The URL is not valid (bad percent-encoding)')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.badRequest('A path parameter is too long', 414)
  }
  const status = fastifyError.statusCode
  if (typeof status !== 'number' || status < 400 || status >= 500) return infrastructureError(error)
  // Errors of the body parsers (JSON syntax, prototype keys, content length) carry a 400.
  if (status === 400 && (fastifyError.code?.startsWith('FST_ERR_CTP_') || error instanceof SyntaxError)) {
    return errors.invalidBody()
  }
  return errorForStatus(status, { bodyLimit, contentType })
}

export function errorBody(error: ApiError) {
  return {
    success: false as const,
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  }
}

/** True when a payload already is a documented error body. */
function isCodedErrorBody(payload: unknown): boolean {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return false
  try {
    const parsed = JSON.parse(payload.toString()) as { success?: unknown; error?: { code?: unknown } }
    return (
      parsed.success === false && typeof parsed.error?.code === 'string' && KNOWN_CODES.has(parsed.error.code)
    )
  } catch {
    return false
  }
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export function registerErrorHandling(
  app: App,
  options: {
    bodyLimit: number
    onError: (code: string) => void
    /** Answers a path no route has before it becomes a 404 (the web app's client routes), or null. */
    clientPage?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | null
  },
) {
  const contextOf = (request: FastifyRequest) => ({
    bodyLimit: options.bodyLimit,
    contentType: request.headers['content-type'],
  })
  const send = (request: FastifyRequest, reply: FastifyReply, apiError: ApiError) => {
    options.onError(apiError.code)
    if (apiError.retryAfter !== undefined) void reply.header('retry-after', String(apiError.retryAfter))
    if (apiError.code === 'method_not_allowed') {
      const { allowed } = apiError.details as { allowed: string[] }
      void reply.header('allow', allowed.join(', '))
    }
    void reply.header('x-request-id', request.id)
    return reply.status(apiError.status).send(errorBody(apiError))
  }

  app.setErrorHandler((error, request, reply) => {
    const known = toApiError(error as FastifyError, contextOf(request))
    if (!known) request.log.error({ err: error, req_id: request.id }, 'unhandled error')
    else if (!(error instanceof ApiError) && known.status >= 503) {
      request.log.warn({ err: error, req_id: request.id, code: known.code }, 'dependency unavailable')
    }
    return send(request, reply, known ?? errors.internal())
  })

  // A second router that only knows which paths exist for which methods, to tell 405 from 404.
  const paths = FindMyWay()
  app.addHook('onRoute', (route) => {
    // Catch-all routes (CORS preflight `OPTIONS *`, static files) say nothing about a path's methods.
    if (route.url.endsWith('*')) return
    for (const method of [route.method].flat()) {
      try {
        paths.on(method as FindMyWay.HTTPMethod, route.url, () => {})
      } catch {
        // Already known (a route registered with its HEAD twin); one entry is enough.
      }
    }
  })
  const allowedMethods = (path: string, except: string): string[] =>
    // `OPTIONS *` and absolute forms name no path of ours.
    !path.startsWith('/')
      ? []
      : HTTP_METHODS.filter((method) => {
          if (method === except) return false
          try {
            return paths.find(method, path) !== null
          } catch {
            return false
          }
        })

  app.setNotFoundHandler((request, reply) => {
    const page = options.clientPage?.(request, reply)
    if (page) return page
    const path = request.url.split('?')[0] ?? ''
    const allowed = allowedMethods(path, request.method)
    return send(
      request,
      reply,
      allowed.length > 0
        ? errors.methodNotAllowed(request.method, allowed)
        : errors.notFound(`Route ${request.method} ${path}`),
    )
  })

  // Plugins (the WebSocket route answering a plain GET, static files) may answer an error status with
  // their own body or none: give it the documented shape for its status.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || isCodedErrorBody(payload)) return payload
    // A route that documents this status has its own body for it (/health/detailed's 503 "degraded").
    const documented = request.routeOptions.schema?.response as Record<string, unknown> | undefined
    if (
      documented &&
      (String(reply.statusCode) in documented || `${String(reply.statusCode)[0]}xx` in documented)
    ) {
      return payload
    }
    if (
      payload !== null &&
      payload !== undefined &&
      typeof payload === 'object' &&
      !Buffer.isBuffer(payload)
    ) {
      return payload // a stream: not an error body any plugin of ours sends
    }
    const apiError =
      reply.statusCode === 404
        ? errors.notFound(`Route ${request.method} ${request.url.split('?')[0]}`)
        : errorForStatus(reply.statusCode, { ...contextOf(request), contentType: '(none)' })
    options.onError(apiError.code)
    void reply.status(apiError.status)
    void reply.header('content-type', 'application/json; charset=utf-8')
    reply.removeHeader('content-length')
    return JSON.stringify(errorBody(apiError))
  })
}

/** Fastify's `frameworkErrors`: the router refused the URL before any route or hook ran. */
export function frameworkErrorHandler(options: { bodyLimit: number; onError: (code: string) => void }) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError =
      toApiError(error, { bodyLimit: options.bodyLimit, contentType: request.headers['content-type'] }) ??
      errors.internal()
    options.onError(apiError.code)
    void reply.header('x-request-id', request.id)
    void reply.status(apiError.status).send(errorBody(apiError))
  }
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes, so there is no request object;
 * the answer is written to the socket by hand, then the connection is closed.
 */
export function clientErrorHandler(options: { onError: (code: string) => void }) {
  return (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const apiError =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? errors.badRequest('The request was not complete in time', 408)
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? errors.badRequest('The request headers are too large', 431)
          : errors.badRequest('The request is not valid HTTP')
    writeRawError(socket, apiError, options)
  }
}

/** Writes a coded error answer straight to a socket that has no request object, then closes it. */
export function writeRawError(
  socket: Duplex,
  apiError: ApiError,
  options: { onError: (code: string) => void },
) {
  options.onError(apiError.code)
  if (socket.writable) {
    const json = JSON.stringify(errorBody(apiError))
    const allow =
      apiError.code === 'method_not_allowed'
        ? `Allow: ${(apiError.details as { allowed: string[] }).allowed.join(', ')}\r\n`
        : ''
    socket.write(
      `HTTP/1.1 ${apiError.status} ${http.STATUS_CODES[apiError.status] ?? ''}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
        `${allow}Connection: close\r\n\r\n${json}`,
    )
  }
  socket.destroy()
}
