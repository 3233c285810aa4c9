/**
 * The Pusher Channels protocol, version 7 (https://pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol/),
 * as the Pusher face of the gateway speaks it. Every frame is `{event, channel?, data}`; server → client
 * `data` is a JSON-encoded string, as pusher-js expects.
 */

/** Close codes (and `pusher:error` codes). pusher-js: 4000–4099 do not reconnect, 4100–4199 back off, 4200–4299 reconnect at once. */
export const PUSHER_CLOSE = {
  appKeyNotFound: { code: 4001, message: 'Application does not exist' },
  unsupportedProtocol: { code: 4007, message: 'Unsupported protocol version' },
  unauthorized: { code: 4009, message: 'Connection is unauthorized' },
  overCapacity: { code: 4100, message: 'Over capacity' },
  reconnect: { code: 4200, message: 'Generic reconnect immediately' },
  pongNotReceived: { code: 4201, message: 'Pong reply not received' },
} as const
export type PusherClose = (typeof PUSHER_CLOSE)[keyof typeof PUSHER_CLOSE]

/** `pusher:error` for a client event over the rate (the connection stays open). */
export const CLIENT_EVENT_RATE_LIMITED = 4301
/** Client events per second one connection may send (Pusher's own default). */
export const CLIENT_EVENTS_PER_SECOND = 10
/** The protocol versions this face speaks (pusher-js 4+ sends 7). */
export const MIN_PROTOCOL = 5
export const MAX_PROTOCOL = 7

export const encodePusher = (event: string, data: unknown, channel?: string): string =>
  JSON.stringify(
    channel === undefined
      ? { event, data: JSON.stringify(data) }
      : { event, channel, data: JSON.stringify(data) },
  )

export const encodeError = (code: number | null, message: string): string =>
  JSON.stringify({ event: 'pusher:error', data: { code, message } })

export const PUSHER_PONG = encodePusher('pusher:pong', {})

/** Refusal of one subscription (the connection stays open), in pusher-js's own error shape. */
export const encodeSubscriptionError = (channel: string, status: number, error: string): string =>
  encodePusher('pusher:subscription_error', { type: 'AuthError', error, status }, channel)
