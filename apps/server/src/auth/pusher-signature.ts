import crypto from 'node:crypto'

/**
 * Pusher channel authorisation signatures (Pusher Channels protocol 7): `auth` is
 * `"{app key}:{hex HMAC-SHA256 of "socket_id:channel_name[:channel_data]"}"`. The HTTP route
 * `POST /broadcasting/auth` signs, the Pusher face of the gateway verifies; both are Parley, so the
 * secret never leaves the server. It is derived from the server secret (the JWT secret, shared by every
 * node of a cluster) with a label of its own, so no token can be made from a channel signature or the
 * other way round, and there is no second secret to configure or rotate.
 */
export function pusherSigningKey(serverSecret: Uint8Array): Buffer {
  return crypto.createHmac('sha256', serverSecret).update('parley:pusher-channel-auth:v1').digest()
}

const signedText = (socketId: string, channel: string, channelData: string | undefined) =>
  channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`

/** The `auth` string for a subscription of `socketId` to `channel` (with `channelData` when present). */
export function signChannel(
  appKey: string,
  key: Buffer,
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  const digest = crypto
    .createHmac('sha256', key)
    .update(signedText(socketId, channel, channelData))
    .digest('hex')
  return `${appKey}:${digest}`
}

/** True when `auth` is exactly the signature `signChannel` would make (compared in constant time). */
export function verifyChannel(
  appKey: string,
  key: Buffer,
  auth: string,
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  const expected = Buffer.from(signChannel(appKey, key, socketId, channel, channelData))
  const given = Buffer.from(auth)
  return given.length === expected.length && crypto.timingSafeEqual(given, expected)
}

/** Socket ids as Pusher writes them (`"123.456"`); Laravel refuses any other form. */
export const SOCKET_ID_PATTERN = '^\\d{1,20}\\.\\d{1,20}$'
