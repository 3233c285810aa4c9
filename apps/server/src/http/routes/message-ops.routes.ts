import {
  DeleteMessageQuery,
  EditMessageBody,
  ForwardMessageBody,
  ForwardMessageResponse,
  MessageEditsResponse,
  MessageParams,
  MessageResponse,
  ReactionBody,
  ReactionParams,
  ReactionResponse,
  ReceiptsResponse,
  SuccessOnly,
} from '@parley/protocol'
import { messageForMember } from '../../access/chats.ts'
import { messageEdits } from '../../access/message-edits.ts'
import { messageViews } from '../../access/message-views.ts'
import { messageReceipts } from '../../access/receipts.ts'
import { deleteMessage, editMessage, forwardMessage } from '../../actions/message-ops.ts'
import { addReaction, removeReaction } from '../../actions/reactions.ts'
import type { Deps } from '../../deps.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const tags = ['messages']

/**
 * Operations on an existing message: edit, versions, delete, forward, reactions, receipts. Every route
 * answers `not_found` for a message that is missing, in a chat you are not in, or that you deleted for
 * yourself.
 */
export function messageOpsRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)

  app.get(
    '/api/messages/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'One message as you see it',
        description: 'The target of a deep link; its context comes from history with `around_message_id`.',
        security: secured,
        params: MessageParams,
        response: { 200: MessageResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, message } = await messageForMember(deps, userId, request.params.id)
      const [view] = await messageViews(deps.store.db, userId, [chat], [message], undefined, {
        baseUrl: deps.config.publicUrl,
      })
      return { success: true as const, message: view! }
    },
  )

  app.put(
    '/api/messages/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Edit a message you sent',
        description:
          'Text messages only (400 otherwise), by their sender only (403 for other members). Sets `edited_at`, keeps the previous text as an earlier version (`GET /api/messages/:id/edits`) and sends `message:edited` to every member. A deleted message cannot be edited (409).',
        security: secured,
        params: MessageParams,
        body: EditMessageBody,
        response: { 200: MessageResponse, ...errorsOf(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, message } = await messageForMember(deps, userId, request.params.id)
      const view = await editMessage(deps, { actorId: userId, chat, message, content: request.body.content })
      return { success: true as const, message: view }
    },
  )

  app.get(
    '/api/messages/:id/edits',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Earlier versions of an edited message',
        description:
          'Oldest first; `edited_at` is when that version was replaced. Any member may look. Empty for a message never edited, and for one deleted for everyone (its versions are deleted with it).',
        security: secured,
        params: MessageParams,
        response: { 200: MessageEditsResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { message } = await messageForMember(deps, userId, request.params.id)
      return { success: true as const, edits: await messageEdits(deps, message) }
    },
  )

  app.delete(
    '/api/messages/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Delete a message for everyone or for yourself',
        description:
          "`for=me` hides it from you only: it leaves your history and answers 404 to you from then on; your devices get `message:deleted`. `for=everyone` (its sender, or a group admin for any member message; 403 otherwise) leaves a \"deleted\" placeholder in everyone's history — content, earlier versions and reactions are removed — and every member gets `message:deleted`. Deleting for everyone twice is a no-op. Without `for` (seed 002's request): for everyone when it is your own message, for you otherwise (a group admin deletes another member's message for everyone only when asking `for=everyone`).",
        security: secured,
        params: MessageParams,
        querystring: DeleteMessageQuery,
        response: { 200: SuccessOnly, ...errorsOf(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, member, message } = await messageForMember(deps, userId, request.params.id)
      // Seeds 000, 002 and 004 delete a message for the chat (one `deleted_at`, a `message:deleted` to
      // everyone, "soft delete with placeholder"): the sender's plain DELETE does that. Someone else's
      // message can only leave the caller's own view by default.
      const ownMessage = message.sender_id === userId && message.message_type !== 'system'
      const scope = request.query.for ?? (ownMessage ? 'everyone' : 'me')
      await deleteMessage(deps, { actorId: userId, chat, member, message, scope })
      return { success: true as const, message: 'Message deleted successfully' }
    },
  )

  app.post(
    '/api/messages/:id/forward',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Forward a message to chats',
        description:
          'Sends a copy, marked `forwarded`, into each chat (at most 20, each one of yours): every copy is a normal send with its own `message:new`. If any chat is not one of yours the whole request answers 404 and nothing is sent. Deleted messages cannot be forwarded (409), system messages neither (400). `messages` follow the order of `chat_ids`.',
        security: secured,
        params: MessageParams,
        body: ForwardMessageBody,
        response: { 200: ForwardMessageResponse, ...errorsOf(400, 401, 404, 409, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { message } = await messageForMember(deps, userId, request.params.id)
      const messages = await forwardMessage(deps, {
        actorId: userId,
        message,
        chatIds: request.body.chat_ids,
      })
      return { success: true as const, messages }
    },
  )

  app.post(
    '/api/messages/:id/reactions',
    {
      onRequest,
      schema: {
        tags,
        summary: 'React to a message with an emoji',
        description:
          'One reaction per emoji per user: reacting again with the same emoji changes nothing (still 200). `emoji` must be a single emoji (400 otherwise). Every member gets `message:reaction` with the aggregated summary; `reaction.count` is how many reacted with this emoji. A deleted message cannot be reacted to (409).',
        security: secured,
        params: MessageParams,
        body: ReactionBody,
        response: { 200: ReactionResponse, ...errorsOf(400, 401, 404, 409, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, message } = await messageForMember(deps, userId, request.params.id)
      const reaction = await addReaction(deps, { actorId: userId, chat, message, emoji: request.body.emoji })
      return { success: true as const, reaction }
    },
  )

  app.delete(
    '/api/messages/:id/reactions/:emoji',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Take back your reaction',
        description:
          'The emoji is URL-encoded in the path. Removing a reaction you have not made changes nothing (still 200). Members get `message:reaction` with `action: "removed"`.',
        security: secured,
        params: ReactionParams,
        response: { 200: ReactionResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat, message } = await messageForMember(deps, userId, request.params.id)
      const reaction = await removeReaction(deps, {
        actorId: userId,
        chat,
        message,
        emoji: request.params.emoji,
      })
      return { success: true as const, reaction }
    },
  )

  app.get(
    '/api/messages/:id/receipts',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Who has your message delivered and read',
        description:
          'For the sender only (403 for other members). One entry per other current member, from their watermarks: `delivered_at` / `read_at` are null until their watermark reaches this message, then the time their watermark last moved (at or after it reached this message).',
        security: secured,
        params: MessageParams,
        response: { 200: ReceiptsResponse, ...errorsOf(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { message } = await messageForMember(deps, userId, request.params.id)
      return { success: true as const, receipts: await messageReceipts(deps, userId, message) }
    },
  )
}
