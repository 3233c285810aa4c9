import type { Group, GroupInfo } from '@parley/protocol'
import type { ChatMemberRow, ChatRow } from '../store/schema.ts'
import type { User } from '../store/user.repository.ts'
import { iso } from './time.ts'
import { NO_RELATION, presentUserSummary, type Relation } from './user.presenter.ts'

/** A group's shared facts (seed 002 create / update shape). */
export function presentGroup(chat: ChatRow, participantsCount: number): Group {
  return {
    id: chat.id,
    name: chat.name ?? '',
    description: chat.description,
    avatar_url: chat.avatar_url,
    created_by: chat.created_by,
    participants_count: participantsCount,
    created_at: iso(chat.created_at),
    updated_at: iso(chat.updated_at),
  }
}

/**
 * A group with its current members as one member sees them: each other member's avatar follows that
 * member's privacy towards the viewer (the viewer always sees their own). Members whose account is
 * gone are left out.
 */
export function presentGroupInfo(input: {
  viewerId: number
  chat: ChatRow
  members: readonly ChatMemberRow[]
  users: ReadonlyMap<number, User>
  relations: ReadonlyMap<number, Relation>
}): GroupInfo {
  const { chat, members, users, relations } = input
  const creator = chat.created_by === null ? undefined : users.get(chat.created_by)
  const participants = members.flatMap((member) => {
    const user = users.get(member.user_id)
    if (!user) return []
    const summary = presentUserSummary(user, relations.get(user.id) ?? NO_RELATION)
    const avatar_url = user.id === input.viewerId ? user.avatar_url : summary.avatar_url
    return [{ ...summary, avatar_url, role: member.role, joined_at: iso(member.joined_at) }]
  })
  return {
    ...presentGroup(chat, participants.length),
    created_by: creator ? { id: creator.id, name: creator.name } : null,
    participants,
  }
}
