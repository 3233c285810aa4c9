import type { Contact } from '@parley/protocol'
import type { User } from '../store/user.repository.ts'
import { isoOrNull } from './time.ts'
import { type Relation, visibleTo } from './user.presenter.ts'

/**
 * A user in the viewer's contacts. `name` is the name the viewer saved them under; photo, about and
 * last seen follow the contact's own privacy settings towards the viewer.
 */
export function presentContact(
  user: User,
  contactName: string,
  relation: Relation,
  presence: { isOnline: boolean },
): Contact {
  const lastSeenVisible = visibleTo(user.privacy_last_seen, relation)
  return {
    id: user.id,
    name: contactName,
    username: user.username,
    // The viewer saved this contact, usually by number: they know it already.
    phone_number: user.phone_number,
    avatar_url: visibleTo(user.privacy_profile_photo, relation) ? user.avatar_url : null,
    about: visibleTo(user.privacy_about, relation) ? user.about : null,
    is_contact: relation.viewerHasTarget,
    is_blocked: relation.viewerBlockedTarget,
    last_seen_at: lastSeenVisible ? isoOrNull(user.last_seen_at) : null,
    is_online: lastSeenVisible && presence.isOnline,
  }
}
