import type { ErrorCode } from '@parley/protocol'

/**
 * The one error type the server throws on purpose. Routes and actions build it through the factories
 * below; the HTTP error handler turns it into `{success: false, error: {code, message, details}}`.
 * Anything else that escapes is logged and answered as `internal_error`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds, for `rate_limited`: sent as the Retry-After header and in details. */
    readonly retryAfter?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const errors = {
  validation: (message: string, details?: unknown) => new ApiError(400, 'validation_error', message, details),
  invalidBody: (message = 'The request body could not be parsed') =>
    new ApiError(400, 'invalid_body', message),
  /**
   * The request could not be read as HTTP: a malformed request line, header or percent-encoding (400),
   * a too long URL (414), headers over the limit (431), a request not complete in time (408).
   */
  badRequest: (message = 'The request could not be read', status = 400) =>
    new ApiError(status, 'bad_request', message),
  payloadTooLarge: (limit: number) =>
    new ApiError(413, 'payload_too_large', `The request body is larger than ${limit} bytes`, { limit }),
  unsupportedMediaType: (type: string) =>
    new ApiError(415, 'unsupported_media_type', `Content type ${type} is not accepted here`),
  unauthorized: (message = 'Authentication required') => new ApiError(401, 'unauthorized', message),
  tokenExpired: () => new ApiError(401, 'token_expired', 'The access token has expired; refresh it'),
  sessionRevoked: () => new ApiError(401, 'session_revoked', 'This session has been signed out'),
  forbidden: (message = 'You are not allowed to do this') => new ApiError(403, 'forbidden', message),
  /** Said both for "missing" and for "not yours", so ids reveal nothing. */
  notFound: (what = 'Resource') => new ApiError(404, 'not_found', `${what} not found`),
  /** The path exists but not with this method; `allowed` also goes in the Allow header. */
  methodNotAllowed: (method: string, allowed: string[]) =>
    new ApiError(405, 'method_not_allowed', `This path does not accept ${method}`, { allowed }),
  conflict: (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details),
  rateLimited: (retryAfterSeconds: number, message = 'Too many requests; try again later') =>
    new ApiError(429, 'rate_limited', message, { retry_after: retryAfterSeconds }, retryAfterSeconds),
  invalidPhoneNumber: (message = 'This is not a valid phone number') =>
    new ApiError(400, 'invalid_phone_number', message),
  invalidOtp: () => new ApiError(400, 'invalid_otp', 'The code is wrong or has already been used'),
  otpExpired: () => new ApiError(400, 'otp_expired', 'The code has expired; request a new one'),
  invalidCredentials: () => new ApiError(401, 'invalid_credentials', 'Wrong username or password'),
  usernameTaken: () => new ApiError(409, 'username_taken', 'This username is taken'),
  serviceUnavailable: (message: string) => new ApiError(503, 'service_unavailable', message),
  insufficientStorage: () =>
    new ApiError(
      507,
      'insufficient_storage',
      'The server is out of storage; nothing was saved, try again later',
    ),
  internal: () => new ApiError(500, 'internal_error', 'Something went wrong on our side'),
}
