import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { BroadcastingAuthBody, BroadcastingAuthResponse } from '@parley/protocol'
import { authorizeChannel, presenceInfo } from '../../access/broadcasting.ts'
import { pusherSigningKey, signChannel } from '../../auth/pusher-signature.ts'
import type { Deps } from '../../deps.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

/**
 * `POST /broadcasting/auth`: Laravel's channel authorisation endpoint, for the Pusher face of the gateway
 * (`/app/{key}`, docs/api/pusher.md). The caller's bearer token is checked by the normal hook; who may
 * join a channel is `access/broadcasting.ts` (the same membership check as REST). The answer is signed
 * as Pusher specifies, and always carries `channel_data` naming the user and session, so the socket
 * learns whose device it is from a signature only this server can make.
 */
export function broadcastingRoutes(app: App, deps: Deps) {
  const signingKey = pusherSigningKey(deps.secret)
  // pusher-js posts a form; a form parser only here, so the rest of the API stays JSON-only.
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, text, done) => {
        const fields: Record<string, string> = {}
        for (const [name, value] of new URLSearchParams(text as string)) {
          if (!Object.hasOwn(fields, name)) Object.defineProperty(fields, name, { value, enumerable: true })
        }
        done(null, fields)
      },
    )
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/broadcasting/auth',
      {
        onRequest: authenticate(deps),
        schema: {
          tags: ['broadcasting'],
          summary: 'Authorise a Pusher channel subscription (pusher-js / Laravel Echo)',
          description:
            "Laravel's `/broadcasting/auth` shape. Body (form or JSON): `socket_id` from `pusher:connection_established`, `channel_name`. Answers `{auth, channel_data}` for `private-user.{your id}`, `private-chat.{chat_id}` and `presence-chat.{chat_id}` of chats you are a current member of; `403 forbidden` for any other channel (missing and not-yours alike). See docs/api/pusher.md.",
          security: secured,
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: BroadcastingAuthBody,
          response: { 200: BroadcastingAuthResponse, ...errorsOf(400, 401, 403, 429) },
        },
      },
      async (request) => {
        const { userId, sessionId } = caller(request)
        const { socket_id: socketId, channel_name: channelName } = request.body
        const channel = await authorizeChannel(deps, userId, channelName)
        const userInfo = channel.kind === 'presence' ? await presenceInfo(deps, userId) : undefined
        const channelData = JSON.stringify({
          user_id: userId,
          ...(userInfo ? { user_info: userInfo } : {}),
          session_id: sessionId,
        })
        return {
          auth: signChannel(deps.config.pusherAppKey, signingKey, socketId, channelName, channelData),
          channel_data: channelData,
        }
      },
    )
  })
}
