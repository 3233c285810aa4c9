import { ApiError, errors } from './errors.ts'

/**
 * Failures of the database or Redis are not bugs: a request that meets one is answered with a coded
 * error the client can act on, never `internal_error` (docs/operations.md lists what each looks like).
 * - the disk is full (SQLite `SQLITE_FULL`, `ENOSPC`): 507 `insufficient_storage` — the transaction
 *   rolled back, nothing was half-written; service resumes when space returns;
 * - PostgreSQL or Redis unreachable, restarting, or cut off mid-query: 503 `service_unavailable` — a
 *   send that got this may or may not have committed; retrying with the same `client_msg_id` gives the
 *   original message if it did (DESIGN §3.2), so nothing is doubled and nothing acknowledged is lost.
 */

/** Node socket errors that mean "the peer is not there (now)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, restart). */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-4]|53300|53400)$/
/** SQLite: the file is locked for longer than the busy timeout, or the disk failed under it. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|PROTOCOL)/
/** Messages of pg and ioredis errors that carry no code. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection is closed|max retries per request|Command timed out|connect ECONNREFUSED|read ECONNRESET/i

export function infrastructureError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error
  if (typeof error !== 'object' || error === null) return null
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown }
  const codeText = typeof code === 'string' ? code : ''
  const messageText = typeof message === 'string' ? message : ''
  if (codeText === 'SQLITE_FULL' || codeText === 'ENOSPC' || codeText === 'EDQUOT' || codeText === '53100') {
    return errors.insufficientStorage()
  }
  if (
    NETWORK_CODES.has(codeText) ||
    POSTGRES_UNAVAILABLE.test(codeText) ||
    SQLITE_UNAVAILABLE.test(codeText) ||
    name === 'MaxRetriesPerRequestError' ||
    UNAVAILABLE_MESSAGES.test(messageText)
  ) {
    return errors.serviceUnavailable('A database or the message bus is unavailable; try again')
  }
  // An aggregate (Promise.any, pg's connection attempts to several addresses) is judged by its parts.
  if (error instanceof AggregateError && error.errors.length > 0) {
    const parts = error.errors.map(infrastructureError)
    if (parts.every((part) => part !== null)) return parts[0] ?? null
  }
  return null
}
