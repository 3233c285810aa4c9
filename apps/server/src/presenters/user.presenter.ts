import type { OwnProfile, PublicUser, UserSummary, VisibilityValue } from '@parley/protocol'
import type { User } from '../store/user.repository.ts'
import { iso, isoOrNull } from './time.ts'

/** How the viewer and the target stand to each other; decides what the target's privacy shows. */
export interface Relation {
  /** The viewer has the target in their contacts. */
  viewerHasTarget: boolean
  /** The target has the viewer in their contacts: "contacts" privacy means this. */
  targetHasViewer: boolean
  viewerBlockedTarget: boolean
  targetBlockedViewer: boolean
}

export const NO_RELATION: Relation = {
  viewerHasTarget: false,
  targetHasViewer: false,
  viewerBlockedTarget: false,
  targetBlockedViewer: false,
}

/** Whether a field guarded by `setting` is shown to a viewer standing in `relation` to its owner. */
export function visibleTo(setting: VisibilityValue, relation: Relation): boolean {
  if (relation.targetBlockedViewer) return false
  if (setting === 'everyone') return true
  if (setting === 'contacts') return relation.targetHasViewer
  return false
}

export function presentOwnProfile(user: User, presence: { isOnline: boolean }): OwnProfile {
  return {
    id: user.id,
    phone_number: user.phone_number,
    username: user.username,
    name: user.name,
    avatar_url: user.avatar_url,
    about: user.about,
    privacy_settings: {
      last_seen: user.privacy_last_seen,
      profile_photo: user.privacy_profile_photo,
      about: user.privacy_about,
    },
    last_seen_at: isoOrNull(user.last_seen_at),
    is_online: presence.isOnline,
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
  }
}

export function presentPublicUser(
  user: User,
  relation: Relation,
  presence: { isOnline: boolean },
): PublicUser {
  const lastSeenVisible = visibleTo(user.privacy_last_seen, relation)
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    // A number is shown to people who already know it: either side has the other as a contact (but
    // a target who blocked the viewer shows nothing private beyond what the viewer saved themselves).
    phone_number:
      relation.viewerHasTarget || (relation.targetHasViewer && !relation.targetBlockedViewer)
        ? user.phone_number
        : null,
    avatar_url: visibleTo(user.privacy_profile_photo, relation) ? user.avatar_url : null,
    about: visibleTo(user.privacy_about, relation) ? user.about : null,
    last_seen_at: lastSeenVisible ? isoOrNull(user.last_seen_at) : null,
    is_online: lastSeenVisible && presence.isOnline,
    is_contact: relation.viewerHasTarget,
    is_blocked: relation.viewerBlockedTarget,
  }
}

export function presentUserSummary(user: User, relation: Relation): UserSummary {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    avatar_url: visibleTo(user.privacy_profile_photo, relation) ? user.avatar_url : null,
  }
}
