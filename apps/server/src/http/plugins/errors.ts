import type { FastifyError } from 'fastify'
import { ApiError, errors } from '../../errors.ts'
import type { App } from '../types.ts'

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
    const details = fastifyError.validation.map((issue) => {
      // Ajv names a missing or unexpected property in params, relative to the object at instancePath.
      const property = issue.params?.missingProperty ?? issue.params?.additionalProperty
      const path = [
        ...issue.instancePath.split('/').filter(Boolean),
        ...(typeof property === 'string' ? [property] : []),
      ]
      return { field: path.length > 0 ? path.join('.') : null, message: issue.message }
    })
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
  }
  if (fastifyError.statusCode === 400) return errors.invalidBody()
  if (fastifyError.statusCode === 413) return errors.payloadTooLarge(bodyLimit)
  if (fastifyError.statusCode === 415) return errors.unsupportedMediaType(contentType)
  return null
}

export function registerErrorHandling(
  app: App,
  options: { bodyLimit: number; onError: (code: string) => void },
) {
  app.setErrorHandler((error, request, reply) => {
    const known = toApiError(error as FastifyError, {
      bodyLimit: options.bodyLimit,
      contentType: request.headers['content-type'],
    })
    const apiError = known ?? errors.internal()
    if (!known) request.log.error({ err: error, req_id: request.id }, 'unhandled error')
    options.onError(apiError.code)
    if (apiError.retryAfter !== undefined) void reply.header('retry-after', String(apiError.retryAfter))
    return reply.status(apiError.status).send({
      success: false,
      error: {
        code: apiError.code,
        message: apiError.message,
        ...(apiError.details === undefined ? {} : { details: apiError.details }),
      },
    })
  })

  app.setNotFoundHandler((request, reply) => {
    options.onError('not_found')
    return reply.status(404).send({
      success: false,
      error: { code: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` },
    })
  })
}
