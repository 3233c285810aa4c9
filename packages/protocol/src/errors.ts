/**
 * Every error code the API can answer with. The server builds errors only from these codes
 * (apps/server/src/errors.ts) and the SDK narrows on them, so a new code is added here first.
 */
export const ERROR_CODES = [
  'validation_error',
  'invalid_body',
  'bad_request',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'token_expired',
  'session_revoked',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'rate_limited',
  'invalid_phone_number',
  'invalid_otp',
  'otp_expired',
  'invalid_credentials',
  'username_taken',
  /** A file's bytes were refused (type, pixels, scan): `details.reason` is a RejectReason. */
  'media_rejected',
  /** The upload would take the user past their storage quota. */
  'quota_exceeded',
  /** The server's own storage is full (507): nothing was stored; try again later. */
  'insufficient_storage',
  'internal_error',
  'service_unavailable',
  'insufficient_storage',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ApiErrorBody {
  success: false
  error: { code: ErrorCode; message: string; details?: unknown }
}
