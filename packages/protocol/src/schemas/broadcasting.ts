import { type Static, Type } from '@sinclair/typebox'

/**
 * `POST /broadcasting/auth` (Laravel's broadcasting auth shape, for pusher-js / Laravel Echo clients of
 * the Pusher face; docs/api/pusher.md). Sent as a form (pusher-js's default) or as JSON; other fields a
 * client adds (Echo's `params`) are ignored.
 */
export const BroadcastingAuthBody = Type.Object({
  socket_id: Type.String({
    pattern: '^\\d{1,20}\\.\\d{1,20}$',
    description: 'From pusher:connection_established',
  }),
  channel_name: Type.String({
    minLength: 1,
    maxLength: 200,
    description: '`private-user.{user_id}`, `private-chat.{chat_id}` or `presence-chat.{chat_id}`',
  }),
})
export type BroadcastingAuthBody = Static<typeof BroadcastingAuthBody>

export const BroadcastingAuthResponse = Type.Object({
  auth: Type.String({
    description: '`{app key}:{hex HMAC-SHA256 of "socket_id:channel_name:channel_data"}`',
  }),
  channel_data: Type.String({
    description:
      'JSON `{user_id, user_info: {name, avatar_url}, session_id}`, signed into `auth`; pusher-js passes it on with the subscription (for private channels too)',
  }),
})
export type BroadcastingAuthResponse = Static<typeof BroadcastingAuthResponse>
