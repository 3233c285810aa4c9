import {
  ChatListQuery,
  ChatListResponse,
  ChatParams,
  ChatResponse,
  ChatSettingsBody,
  CreateChatBody,
} from '@parley/protocol'
import { chatList } from '../../access/chat-list.ts'
import { chatViews } from '../../access/chat-views.ts'
import { chatForMember } from '../../access/chats.ts'
import { updateChatSettings } from '../../actions/chat-settings.ts'
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
      const [view] = await chatViews(deps.store.db, userId, [chat], {
        baseUrl: deps.config.publicUrl,
        onlineOf: (ids) => deps.presence.onlineOf(ids),
      })
      return reply.status(created ? 201 : 200).send({ success: true as const, chat: view! })
    },
  )

  app.get(
    '/api/chats',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Your chat list',
        description:
          'Chats you are a member of: pinned first (most recently pinned first), then by last activity, newest first. Archived chats are left out; `archived=true` lists only them. A private chat someone opened with you appears once it has a message you can see. Pass `pagination.next_cursor` as `cursor` for the next page. Or, as seed 002 does, ask for `page` (from 1) with `limit`: `pagination` then also has `current_page`, `total_pages` and `total_items` (a count of the whole list, which cursors do not pay for); `page` and `cursor` do not go together.',
        security: secured,
        querystring: ChatListQuery,
        response: { 200: ChatListResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const { chats, nextCursor, pages } = await chatList(deps, caller(request).userId, request.query)
      return {
        success: true as const,
        chats,
        pagination: { next_cursor: nextCursor, has_more: nextCursor !== null, ...pages },
      }
    },
  )

  app.put(
    '/api/chats/:id/settings',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Mute, pin or archive a chat for yourself',
        description:
          'Only the fields given change. `muted_until: null` unmutes. Your other devices get a `chat:settings` update; nobody else sees your settings.',
        security: secured,
        params: ChatParams,
        body: ChatSettingsBody,
        response: { 200: ChatResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat } = await chatForMember(deps, userId, request.params.id)
      await updateChatSettings(deps, { actorId: userId, chat, settings: request.body })
      const [view] = await chatViews(deps.store.db, userId, [chat], {
        baseUrl: deps.config.publicUrl,
        onlineOf: (ids) => deps.presence.onlineOf(ids),
      })
      return { success: true as const, chat: view! }
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
      const [view] = await chatViews(deps.store.db, userId, [chat], {
        baseUrl: deps.config.publicUrl,
        onlineOf: (ids) => deps.presence.onlineOf(ids),
      })
      return { success: true as const, chat: view! }
    },
  )
}
