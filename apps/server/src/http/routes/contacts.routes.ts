import {
  AddContactBody,
  AddContactResponse,
  BlockResponse,
  ContactParams,
  ContactRequestParams,
  ContactRequestResponse,
  ContactRequestsResponse,
  ContactsResponse,
  cleanText,
  SendContactRequestBody,
  SuccessOnly,
} from '@parley/protocol'
import { pendingContactRequest, requestParties } from '../../access/contact-requests.ts'
import { contactsOf, pendingRequestsOf } from '../../access/contacts.ts'
import { relationTo } from '../../access/relations.ts'
import { userById, userByPhone, userByUsername } from '../../access/users.ts'
import {
  acceptContactRequest,
  addContact,
  blockUser,
  closeContactRequest,
  removeContact,
  sendContactRequest,
  unblockUser,
} from '../../actions/contacts.ts'
import { normalisePhone } from '../../auth/phone.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { presentContact } from '../../presenters/contact.presenter.ts'
import { presentContactRequest, presentContactRequests } from '../../presenters/contact-request.presenter.ts'
import type { ContactRequestRow } from '../../store/schema.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

export function contactRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)

  /** Presents one request as `viewerId` sees it (two queries). */
  const presentOne = async (viewerId: number, request: ContactRequestRow) => {
    const parties = await requestParties(deps.store.db, viewerId, [request])
    const presented = presentContactRequest(viewerId, request, parties)
    if (!presented) throw errors.notFound('Contact request')
    return presented
  }

  app.get(
    '/api/contacts',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'List your contacts',
        description:
          '`name` is the name you saved; photo, about and last seen follow each contact’s privacy settings. `is_blocked` tells whether you blocked them. Sorted by name.',
        security: secured,
        response: { 200: ContactsResponse, ...errorsOf(401, 429) },
      },
    },
    async (request) => {
      const entries = await contactsOf(deps, caller(request).userId)
      const online = await deps.presence.onlineOf(entries.map((entry) => entry.user.id))
      return {
        success: true as const,
        contacts: entries.map((entry) =>
          presentContact(entry.user, entry.contactName, entry.relation, {
            isOnline: online.has(entry.user.id),
          }),
        ),
      }
    },
  )

  app.post(
    '/api/contacts',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Save someone in your contacts by phone number',
        description:
          '`country_code` is used when the number has none. 201 when the contact is new; saving someone already saved renames them and answers 200. `not_found` when no account has that number. Each call spends one of your daily phone-number look-ups (`PARLEY_PHONE_LOOKUPS_PER_DAY`, found or not); past them `rate_limited` with `retry_after`.',
        security: secured,
        body: AddContactBody,
        response: { 200: AddContactResponse, 201: AddContactResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const actorId = caller(request).userId
      const phoneNumber = normalisePhone(request.body.phone_number, request.body.country_code)
      const target = await userByPhone(deps, actorId, phoneNumber)
      const { created } = await addContact(deps, { actorId, target, contactName: request.body.contact_name })
      const [relation, online] = await Promise.all([
        relationTo(deps.store.db, actorId, target.id),
        deps.presence.onlineOf([target.id]),
      ])
      const contact = presentContact(target, cleanText(request.body.contact_name), relation, {
        isOnline: online.has(target.id),
      })
      return reply.status(created ? 201 : 200).send({ success: true as const, contact })
    },
  )

  app.get(
    '/api/contacts/requests',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'List pending contact requests, to you and from you',
        security: secured,
        response: { 200: ContactRequestsResponse, ...errorsOf(401, 429) },
      },
    },
    async (request) => {
      const viewerId = caller(request).userId
      const { incoming, outgoing, parties } = await pendingRequestsOf(deps, viewerId)
      return {
        success: true as const,
        incoming: presentContactRequests(viewerId, incoming, parties),
        outgoing: presentContactRequests(viewerId, outgoing, parties),
      }
    },
  )

  app.post(
    '/api/contacts/requests',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Ask someone to become mutual contacts',
        description:
          'Address them by `user_id` or `username` (exactly one). If they already sent you a pending request, this accepts theirs and answers 200 with it; otherwise 201 with the new request. `conflict` when you are already mutual contacts or your request is still pending.',
        security: secured,
        body: SendContactRequestBody,
        response: {
          200: ContactRequestResponse,
          201: ContactRequestResponse,
          ...errorsOf(400, 401, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const actorId = caller(request).userId
      const { user_id: userId, username, message } = request.body
      if ((userId === undefined) === (username === undefined)) {
        throw errors.validation('Send exactly one of user_id and username', [
          { field: 'user_id', message: 'exactly one of user_id and username is required' },
        ])
      }
      const target =
        userId === undefined ? await userByUsername(deps, username ?? '') : await userById(deps, userId)
      const sent = await sendContactRequest(deps, { actorId, target, message })
      const presented = await presentOne(actorId, sent.request)
      return reply.status(sent.created ? 201 : 200).send({ success: true as const, request: presented })
    },
  )

  app.post(
    '/api/contacts/requests/:id/accept',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Accept a contact request sent to you',
        description:
          'Saves each of you in the other’s contacts under their display name. Only the recipient of a pending request can accept it; anything else is `not_found`.',
        security: secured,
        params: ContactRequestParams,
        response: { 200: ContactRequestResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const actorId = caller(request).userId
      const pending = await pendingContactRequest(deps, actorId, request.params.id, ['recipient'])
      const accepted = await acceptContactRequest(deps, { actorId, request: pending.request })
      return { success: true as const, request: await presentOne(actorId, accepted) }
    },
  )

  app.delete(
    '/api/contacts/requests/:id',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Decline a contact request to you, or withdraw one you sent',
        security: secured,
        params: ContactRequestParams,
        response: { 200: SuccessOnly, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const actorId = caller(request).userId
      const pending = await pendingContactRequest(deps, actorId, request.params.id, ['recipient', 'sender'])
      await closeContactRequest(deps, { actorId, request: pending.request })
      return {
        success: true as const,
        message: pending.role === 'recipient' ? 'Contact request declined' : 'Contact request withdrawn',
      }
    },
  )

  app.delete(
    '/api/contacts/:id',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Remove someone from your contacts',
        description: 'Only your side changes: you stay in their contacts. `not_found` if not your contact.',
        security: secured,
        params: ContactParams,
        response: { 200: SuccessOnly, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      await removeContact(deps, { actorId: caller(request).userId, contactUserId: request.params.id })
      return { success: true as const, message: 'Contact removed' }
    },
  )

  app.put(
    '/api/contacts/:id/block',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Block a user',
        description:
          'Works for any user, contact or not, and is idempotent. A blocked user no longer sees your last seen, photo or about, cannot find you in search, and their contact requests are not shown to you.',
        security: secured,
        params: ContactParams,
        response: { 200: BlockResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const target = await userById(deps, request.params.id)
      await blockUser(deps, { actorId: caller(request).userId, target })
      return { success: true as const, is_blocked: true }
    },
  )

  app.put(
    '/api/contacts/:id/unblock',
    {
      onRequest,
      schema: {
        tags: ['contacts'],
        summary: 'Unblock a user',
        description: 'Idempotent. Contact requests they sent while blocked stay unseen (declined).',
        security: secured,
        params: ContactParams,
        response: { 200: BlockResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const target = await userById(deps, request.params.id)
      await unblockUser(deps, { actorId: caller(request).userId, target })
      return { success: true as const, is_blocked: false }
    },
  )
}
