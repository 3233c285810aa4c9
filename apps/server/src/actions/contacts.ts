import { cleanText } from '@parley/protocol'
import { relationTo } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import { type Executor, isUniqueViolation } from '../store/db.ts'
import type { ContactRequestRow } from '../store/schema.ts'
import { type User, UserRepository } from '../store/user.repository.ts'
import { cleanName } from './names.ts'

type ContactDeps = Pick<Deps, 'store' | 'clock'>

const notYourself = (what: string) =>
  errors.validation(`You cannot ${what} yourself`, [{ field: 'id', message: `cannot ${what} yourself` }])

/**
 * Saves `target` in the caller's contacts under `contactName`. Saving someone already saved renames
 * them; `created` tells which happened. Contacts are one-way: the target's contacts do not change.
 */
export async function addContact(
  deps: ContactDeps,
  input: { actorId: number; target: User; contactName: string },
): Promise<{ created: boolean }> {
  if (input.target.id === input.actorId) throw notYourself('add')
  const contactName = cleanName(input.contactName, 'contact_name')
  return deps.store.db.transaction().execute(async (trx) => {
    const contacts = new ContactRepository(trx)
    const existing = await contacts.findContact(input.actorId, input.target.id)
    await contacts.saveContact(input.actorId, input.target.id, contactName, deps.clock.now())
    return { created: !existing }
  })
}

/** Removes a user from the caller's contacts (only the caller's side); `not_found` if not a contact. */
export async function removeContact(
  deps: ContactDeps,
  input: { actorId: number; contactUserId: number },
): Promise<void> {
  const removed = await new ContactRepository(deps.store.db).removeContact(input.actorId, input.contactUserId)
  if (!removed) throw errors.notFound('Contact')
}

/**
 * Blocks any user, contact or not (idempotent). Pending requests between the two are settled so that
 * neither can turn into a contact: the blocked user's requests read as declined, the caller's own are
 * withdrawn.
 */
export async function blockUser(deps: ContactDeps, input: { actorId: number; target: User }): Promise<void> {
  if (input.target.id === input.actorId) throw notYourself('block')
  const now = deps.clock.now()
  await deps.store.db.transaction().execute(async (trx) => {
    const contacts = new ContactRepository(trx)
    await contacts.block(input.actorId, input.target.id, now)
    await contacts.rejectPendingFrom(input.target.id, input.actorId, now)
    await contacts.deletePendingFrom(input.actorId, input.target.id)
  })
}

/**
 * Unblocks a user (idempotent). Requests they sent while blocked were never shown and are declined
 * now, so the caller never sees them.
 */
export async function unblockUser(
  deps: ContactDeps,
  input: { actorId: number; target: User },
): Promise<void> {
  if (input.target.id === input.actorId) throw notYourself('unblock')
  const now = deps.clock.now()
  await deps.store.db.transaction().execute(async (trx) => {
    const contacts = new ContactRepository(trx)
    await contacts.unblock(input.actorId, input.target.id)
    await contacts.rejectPendingFrom(input.target.id, input.actorId, now)
  })
}

/**
 * Asks `target` to become mutual contacts.
 *
 * - `target` already sent the caller a pending request: that request is accepted instead
 *   (`created: false`, the returned request is theirs, accepted).
 * - already mutual contacts, or the caller's own request still pending: `conflict`.
 * - `target` blocks the caller: the request is stored and answered exactly as usual, but the target
 *   never sees it (their incoming list leaves out users they block, and unblocking declines it).
 */
export async function sendContactRequest(
  deps: ContactDeps,
  input: { actorId: number; target: User; message?: string | undefined },
): Promise<{ request: ContactRequestRow; created: boolean }> {
  const { actorId, target } = input
  if (target.id === actorId) throw notYourself('send a contact request to')
  const now = deps.clock.now()
  const pendingConflict = () => errors.conflict('A contact request to this user is already pending')
  return deps.store.db
    .transaction()
    .execute(async (trx) => {
      const contacts = new ContactRepository(trx)
      const relation = await relationTo(trx, actorId, target.id)
      if (relation.viewerHasTarget && relation.targetHasViewer) {
        throw errors.conflict('You are already contacts')
      }
      if (await contacts.findPendingRequest(actorId, target.id)) throw pendingConflict()
      if (!relation.targetBlockedViewer) {
        const theirs = await contacts.findPendingRequest(target.id, actorId)
        if (theirs) {
          return { request: await acceptRequest(trx, theirs, now), created: false }
        }
      }
      const message = input.message === undefined ? null : cleanText(input.message) || null
      const request = await contacts.createRequest({
        from_user_id: actorId,
        to_user_id: target.id,
        message,
        created_at: now,
      })
      return { request, created: true }
    })
    .catch((error: unknown) => {
      // Two sends at the same moment: the partial unique index on pending requests keeps one.
      throw isUniqueViolation(error) ? pendingConflict() : error
    })
}

/**
 * The recipient accepts: each is saved in the other's contacts (under the other's display name, an
 * existing entry keeps its name) and any other pending request between them is settled too.
 */
export async function acceptContactRequest(
  deps: ContactDeps,
  input: { actorId: number; request: ContactRequestRow },
): Promise<ContactRequestRow> {
  if (input.request.to_user_id !== input.actorId) throw errors.notFound('Contact request')
  const now = deps.clock.now()
  return deps.store.db.transaction().execute((trx) => acceptRequest(trx, input.request, now))
}

async function acceptRequest(
  trx: Executor,
  request: ContactRequestRow,
  now: number,
): Promise<ContactRequestRow> {
  const contacts = new ContactRepository(trx)
  const accepted = await contacts.respondToRequest(request.id, 'accepted', now)
  if (!accepted) throw errors.notFound('Contact request')
  const { from_user_id: from, to_user_id: to } = accepted
  await contacts.respondToPendingBetween(from, to, 'accepted', now)
  const users = new Map((await new UserRepository(trx).findByIds([from, to])).map((user) => [user.id, user]))
  const fromUser = users.get(from)
  const toUser = users.get(to)
  if (!fromUser || !toUser) throw errors.notFound('Contact request')
  await contacts.addContactIfMissing(from, to, toUser.name, now)
  await contacts.addContactIfMissing(to, from, fromUser.name, now)
  return accepted
}

/** The recipient declines a pending request, or its sender withdraws it (the row is deleted). */
export async function closeContactRequest(
  deps: ContactDeps,
  input: { actorId: number; request: ContactRequestRow },
): Promise<void> {
  const contacts = new ContactRepository(deps.store.db)
  const { request, actorId } = input
  let closed = false
  if (request.to_user_id === actorId) {
    closed = (await contacts.respondToRequest(request.id, 'rejected', deps.clock.now())) !== undefined
  } else if (request.from_user_id === actorId) {
    closed = await contacts.deletePendingRequest(request.id)
  }
  if (!closed) throw errors.notFound('Contact request')
}
