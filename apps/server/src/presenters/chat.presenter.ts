import type { Chat, Message } from '@parley/protocol'
import type { ChatMemberRow, ChatRow } from '../store/schema.ts'
import type { User } from '../store/user.repository.ts'
import { iso, isoOrNull } from './time.ts'
import { NO_RELATION, presentPublicUser, type Relation } from './user.presenter.ts'

export function presentChat(input: {
  chat: ChatRow
  member: ChatMemberRow
  participantsCount: number
  other: { user: User; relation: Relation | undefined; isOnline: boolean } | null
  lastMessage: Message | null
  unreadCount: number
}): Chat {
  const { chat, member, other } = input
  const participant = other
    ? presentPublicUser(other.user, other.relation ?? NO_RELATION, { isOnline: other.isOnline })
    : null
  return {
    id: chat.id,
    type: chat.type,
    name: chat.type === 'private' ? (participant?.name ?? null) : chat.name,
    description: chat.description,
    avatar_url: chat.type === 'private' ? (participant?.avatar_url ?? null) : chat.avatar_url,
    participant: participant
      ? {
          id: participant.id,
          name: participant.name,
          username: participant.username,
          avatar_url: participant.avatar_url,
          last_seen_at: participant.last_seen_at,
          is_online: participant.is_online,
        }
      : null,
    participants_count: input.participantsCount,
    role: member.role,
    last_message: input.lastMessage,
    unread_count: input.unreadCount,
    muted_until: isoOrNull(member.muted_until),
    pinned: member.pinned_at !== null,
    archived: member.archived_at !== null,
    created_at: iso(chat.created_at),
    updated_at: iso(Math.max(chat.updated_at, chat.last_activity_at)),
  }
}

/** The shared facts of a chat for `chat:created` / `chat:updated` updates. */
export function chatSnapshot(chat: ChatRow, members: ReadonlyArray<Pick<ChatMemberRow, 'user_id' | 'role'>>) {
  return {
    id: chat.id,
    type: chat.type,
    name: chat.name,
    description: chat.description,
    avatar_url: chat.avatar_url,
    created_by: chat.created_by,
    members: members.map((member) => ({ id: member.user_id, role: member.role })),
    created_at: iso(chat.created_at),
  }
}
