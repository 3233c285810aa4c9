/**
 * WebSocket close codes (docs/api/websocket.md). 4000–4499: reconnect and resume from the cursor;
 * 4500–4999: terminal, do not reconnect as you are.
 */
export const CLOSE = {
  serverRestart: { code: 4000, reason: 'server_restart' },
  slowConsumer: { code: 4001, reason: 'slow_consumer' },
  tokenExpired: { code: 4002, reason: 'token_expired' },
  heartbeatTimeout: { code: 4003, reason: 'heartbeat_timeout' },
  rateLimited: { code: 4004, reason: 'rate_limited' },
  helloTimeout: { code: 4005, reason: 'hello_timeout' },
  internalError: { code: 4007, reason: 'internal_error' },
  unauthorized: { code: 4500, reason: 'unauthorized' },
  sessionRevoked: { code: 4501, reason: 'session_revoked' },
  protocolError: { code: 4502, reason: 'protocol_error' },
} as const

export type CloseReason = (typeof CLOSE)[keyof typeof CLOSE]
