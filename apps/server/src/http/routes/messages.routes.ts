import {
  ChatParams,
  HistoryQuery,
  HistoryResponse,
  MessageResponse,
  ReadBody,
  ReadResponse,
  SendMessageBody,
} from '@parley/protocol'
import { chatForMember, messageForMember } from '../../access/chats.ts'
import { chatHistory } from '../../access/history.ts'
import { markRead, sendMessage } from '../../actions/messages.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { iso } from '../../presenters/time.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const tags = ['messages']

export function messageRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)

  app.post(
    '/api/chats/:id/messages',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Send a message',
        description:
          'Idempotent on `client_msg_id`: a retry by the same sender answers 200 with the original message instead of 201 with a new one. Answered only after the message is durably committed.',
        security: secured,
        params: ChatParams,
        body: SendMessageBody,
        response: { 200: MessageResponse, 201: MessageResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { userId } = caller(request)
      const { chat } = await chatForMember(deps, userId, request.params.id)
      const { message, created } = await sendMessage(deps, { actorId: userId, chat, body: request.body })
      return reply.status(created ? 201 : 200).send({ success: true as const, message })
    },
  )

  app.get(
    '/api/chats/:id/messages',
    {
      onRequest,
      schema: {
        tags,
        summary: 'A page of history, oldest first',
        description:
          'No anchor: the newest `limit` messages. `before_message_id` / `after_message_id`: the page beside that message; `around_message_id`: that message with context on both sides. At most one anchor.',
        security: secured,
        params: ChatParams,
        querystring: HistoryQuery,
        response: { 200: HistoryResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat } = await chatForMember(deps, userId, request.params.id)
      return { success: true as const, ...(await chatHistory(deps, userId, chat, request.query)) }
    },
  )

  app.put(
    '/api/chats/:id/read',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Mark the chat read up to a message',
        description: 'Moves your read watermark forward (never back); senders get `message:read`.',
        security: secured,
        params: ChatParams,
        body: ReadBody,
        response: { 200: ReadResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, member, message } = await messageForMember(deps, userId, request.body.message_id)
      if (chat.id !== request.params.id) throw errors.notFound('Message')
      const { readSeq, readAt } = await markRead(deps, { actorId: userId, chat, member, message })
      return { success: true as const, read_at: iso(readAt), read_seq: readSeq }
    },
  )
}
