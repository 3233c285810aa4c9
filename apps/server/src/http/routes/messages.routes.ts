import {
  ChatParams,
  defaultKind,
  HistoryQuery,
  HistoryResponse,
  isMediaMessageType,
  type MediaKind,
  MessageResponse,
  ReadBody,
  ReadResponse,
  SendMediaForm,
  SendMessageBody,
} from '@parley/protocol'
import type { FastifyRequest } from 'fastify'
import { chatForMember, messageForMember } from '../../access/chats.ts'
import { chatHistory } from '../../access/history.ts'
import { discardUploads } from '../../actions/discard-uploads.ts'
import { kindFits, markRead, sendMessage } from '../../actions/messages.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { ingestStream } from '../../media/ingest.ts'
import { iso } from '../../presenters/time.ts'
import type { AttachmentRow } from '../../store/schema.ts'
import { createAjv, validationDetails } from '../../validation.ts'
import { names, readMultipart } from '../multipart.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const tags = ['messages']

/** A plain decimal id in a form field (as in a path: no sign, exponent or leading zero). */
const FORM_ID = /^[1-9][0-9]{0,15}$/

/**
 * The kind a file of a multipart send is ingested as: the message type's own, but within an image or
 * video album each file by its declared type; before `message_type` has arrived, by the declared type.
 * `sendMessage` then checks the kinds against the type as for `attachment_ids`.
 */
function kindOfPart(messageType: string | undefined, mime: string): MediaKind {
  const declared = defaultKind(mime)
  if (messageType === undefined || !isMediaMessageType(messageType)) return declared
  return kindFits(messageType, declared) ? declared : messageType
}

export function messageRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)
  const checkSend = createAjv(false).compile<SendMessageBody>(SendMessageBody)

  /**
   * Seed 002's multipart send: each file is ingested (checked, processed, stored) as it streams in,
   * then the message is sent as a JSON send naming those attachments would be. `uploads` collects
   * what was stored, for the caller to discard if the request fails.
   */
  async function readMediaSend(
    request: FastifyRequest,
    actorId: number,
    uploads: AttachmentRow[],
  ): Promise<SendMessageBody> {
    const fields: Record<string, string> = {}
    const attachmentIds: number[] = []
    await readMultipart(request, {
      fields: names('message_type', 'caption', 'client_msg_id', 'reply_to_message_id'),
      files: new Map([['file', 10]]),
      onField: (name, value) => {
        if (name === 'message_type' && !isMediaMessageType(value))
          throw errors.validation('A multipart send is a media message', [
            {
              field: 'message_type',
              message: 'must be image, video, audio, voice, document, gif or sticker',
            },
          ])
        fields[name] = value
      },
      onFile: async (_name, part) => {
        const row = await ingestStream(deps, {
          ownerId: actorId,
          kind: kindOfPart(fields.message_type, part.mimetype),
          declaredMime: part.mimetype,
          fileName: part.filename || null,
          purpose: 'message',
          source: part.file,
        })
        uploads.push(row)
        attachmentIds.push(row.id)
      },
    })
    if (attachmentIds.length === 0)
      throw errors.validation('A media message needs a file', [{ field: 'file', message: 'is required' }])
    const replyTo = fields.reply_to_message_id
    if (replyTo !== undefined && !FORM_ID.test(replyTo))
      throw errors.validation('reply_to_message_id must be a message id', [
        { field: 'reply_to_message_id', message: 'must be a decimal integer' },
      ])
    const body = {
      message_type: fields.message_type,
      attachment_ids: attachmentIds,
      ...(fields.caption === undefined ? {} : { content: fields.caption }),
      ...(fields.client_msg_id === undefined ? {} : { client_msg_id: fields.client_msg_id }),
      ...(replyTo === undefined ? {} : { reply_to_message_id: Number(replyTo) }),
    }
    if (!checkSend(body)) {
      const details = validationDetails(checkSend.errors)
      throw errors.validation(
        `Invalid body: ${details.map((d) => `${d.field ?? 'body'} ${d.message}`).join('; ')}`,
        details,
      )
    }
    return body
  }

  app.post(
    '/api/chats/:id/messages',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Send a message',
        description:
          'Idempotent on `client_msg_id`: a retry by the same sender answers 200 with the original message instead of 201 with a new one. Answered only after the message is durably committed. ' +
          'JSON: a media message names ready uploads of yours in `attachment_ids` (404 for ids that are not yours, 409 while not ready). ' +
          "multipart/form-data (seed 002): `message_type`, one `file` (several for an image/video album), optional `caption`, `client_msg_id`, `reply_to_message_id`; each file is checked and processed as it arrives (415 wrong type, 413 over its kind's limit, 422 refused) — see docs/api/media.md.",
        security: secured,
        params: ChatParams,
        body: {
          content: {
            'application/json': { schema: SendMessageBody },
            'multipart/form-data': { schema: SendMediaForm },
          },
        },
        response: {
          200: MessageResponse,
          201: MessageResponse,
          ...errorsOf(400, 401, 404, 409, 413, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { userId } = caller(request)
      const { chat } = await chatForMember(deps, userId, request.params.id)
      if (!request.isMultipart()) {
        // Validated against SendMessageBody by the route's schema (JSON is the only other parser).
        const body = request.body as SendMessageBody
        const { message, created } = await sendMessage(deps, { actorId: userId, chat, body })
        return reply.status(created ? 201 : 200).send({ success: true as const, message })
      }
      const uploads: AttachmentRow[] = []
      try {
        const body = await readMediaSend(request, userId, uploads)
        const { message, created } = await sendMessage(deps, { actorId: userId, chat, body })
        return reply.status(created ? 201 : 200).send({ success: true as const, message })
      } finally {
        // Whatever the send did not attach (it failed, or a retry got its original) is removed.
        await discardUploads(deps, uploads)
      }
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
