/**
 * Kept apart from the schemas (no TypeBox import), so a client can import the close codes alone:
 * `import { CLOSE_CODES } from '@parley/protocol/close-codes'`.
 */

export interface CloseCode {
  code: number
  reason: string
  /** `reconnect`: back off, reconnect and resume from the cursor; `terminal`: do not reconnect as you are. */
  kind: 'reconnect' | 'terminal'
  /** What happened and what the client does. */
  description: string
}

/**
 * WebSocket close codes the server sends. 4000–4499 mean "reconnect with back-off and resume";
 * 4500–4999 mean "do not reconnect as you are" (as Centrifuge splits its disconnect codes).
 */
export const CLOSE_CODES = {
  serverRestart: {
    code: 4000,
    reason: 'server_restart',
    kind: 'reconnect',
    description: 'The server is restarting, or could not serve the stream; reconnect and resume.',
  },
  slowConsumer: {
    code: 4001,
    reason: 'slow_consumer',
    kind: 'reconnect',
    description: 'The outbound queue overflowed; reconnect and resume.',
  },
  tokenExpired: {
    code: 4002,
    reason: 'token_expired',
    kind: 'reconnect',
    description: 'The access token expired; refresh it, reconnect and resume.',
  },
  heartbeatTimeout: {
    code: 4003,
    reason: 'heartbeat_timeout',
    kind: 'reconnect',
    description: 'The peer missed a whole heartbeat interval; reconnect and resume.',
  },
  rateLimited: {
    code: 4004,
    reason: 'rate_limited',
    kind: 'reconnect',
    description: 'Too many frames per second; reconnect after a back-off.',
  },
  helloTimeout: {
    code: 4005,
    reason: 'hello_timeout',
    kind: 'reconnect',
    description: 'No hello within the hello timeout; reconnect.',
  },
  tooManyConnections: {
    code: 4006,
    reason: 'too_many_connections',
    kind: 'reconnect',
    description:
      'Over a socket cap (per user, per session, or unauthenticated per IP); reconnect after a back-off, or close another socket first.',
  },
  internalError: {
    code: 4007,
    reason: 'internal_error',
    kind: 'reconnect',
    description: 'The server failed on a frame without an id; reconnect and resume.',
  },
  unauthorized: {
    code: 4500,
    reason: 'unauthorized',
    kind: 'terminal',
    description: 'The token is not valid: sign in again.',
  },
  sessionRevoked: {
    code: 4501,
    reason: 'session_revoked',
    kind: 'terminal',
    description: 'This device was signed out: sign in again.',
  },
  protocolError: {
    code: 4502,
    reason: 'protocol_error',
    kind: 'terminal',
    description:
      'A frame that is not JSON, not an object, malformed without an id to answer, or anything but hello before the hello: fix the client.',
  },
} as const satisfies Record<string, CloseCode>

export type CloseCodeName = keyof typeof CLOSE_CODES
export type CloseReason = (typeof CLOSE_CODES)[CloseCodeName]

/** Whether a close code says "do not reconnect as you are" (the 4500–4999 range). */
export const isTerminalClose = (code: number): boolean => code >= 4500 && code <= 4999
