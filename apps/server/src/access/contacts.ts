import type { Deps } from '../deps.ts'
import type { Relation } from '../presenters/user.presenter.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import type { User } from '../store/user.repository.ts'
import { requestParties } from './contact-requests.ts'

/** The caller's address book, each entry with its saved name and relation: one query in all. */
export async function contactsOf(
  deps: Pick<Deps, 'store'>,
  viewerId: number,
): Promise<Array<{ user: User; contactName: string; relation: Relation }>> {
  const rows = await new ContactRepository(deps.store.db).listContacts(viewerId)
  return rows.map(
    ({ contact_name, target_has_viewer, viewer_blocked_target, target_blocked_viewer, ...user }) => ({
      user,
      contactName: contact_name,
      relation: {
        viewerHasTarget: true,
        targetHasViewer: target_has_viewer,
        viewerBlockedTarget: viewer_blocked_target,
        targetBlockedViewer: target_blocked_viewer,
      },
    }),
  )
}

/**
 * The caller's pending requests, both ways, with the people on them: four queries whatever their
 * number. Requests from users the caller blocks are left out of `incoming`.
 */
export async function pendingRequestsOf(deps: Pick<Deps, 'store'>, viewerId: number) {
  const contacts = new ContactRepository(deps.store.db)
  const [incoming, outgoing] = await Promise.all([
    contacts.listIncomingPending(viewerId),
    contacts.listOutgoingPending(viewerId),
  ])
  const parties = await requestParties(deps.store.db, viewerId, [...incoming, ...outgoing])
  return { incoming, outgoing, parties }
}
