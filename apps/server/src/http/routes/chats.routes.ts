import { ChatParams, ChatResponse, CreateChatBody } from '@parley/protocol'
import { chatViews } from '../../access/chat-views.ts'
import { chatForMember } from '../../access/chats.ts'
import { openPrivateChat } from '../../actions/chats.ts'
import type { Deps } from '../../deps.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const tags = ['chats']

export function chatRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)

  app.post(
    '/api/chats',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Open the private chat with a user (created once per pair)',
        description: 'Answers 201 with a new chat, or 200 with the existing one.',
        security: secured,
        body: CreateChatBody,
        response: { 200: ChatResponse, 201: ChatResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { userId } = caller(request)
      const { chat, created } = await openPrivateChat(deps, {
        actorId: userId,
        otherUserId: request.body.user_id,
      })
      const [view] = await chatViews(deps.store.db, userId, [chat])
      return reply.status(created ? 201 : 200).send({ success: true as const, chat: view! })
    },
  )

  app.get(
    '/api/chats/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'One chat as you see it',
        security: secured,
        params: ChatParams,
        response: { 200: ChatResponse, ...errorsOf(401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat } = await chatForMember(deps, userId, request.params.id)
      const [view] = await chatViews(deps.store.db, userId, [chat])
      return { success: true as const, chat: view! }
    },
  )
}
