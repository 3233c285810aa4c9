import { type CreateGroupBody, cleanText, type NotAdded, type UpdateGroupBody } from '@parley/protocol'
import type { Transaction } from 'kysely'
import { relationsFor } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { chatSnapshot } from '../presenters/chat.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { AttachmentRow, ChatMemberRow, ChatRow, Database } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'
import { commit, type UpdateLog } from './commit.ts'
import { cleanName } from './names.ts'
import { avatarUrl } from './profile.ts'
import { appendSystemMessage } from './system-messages.ts'

type GroupDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock' | 'config'>

/** A group after a change, with its current member count, for the answer. */
export interface GroupState {
  chat: ChatRow
  participantsCount: number
}

const tooBig = (limit: number) => errors.validation(`A group can have at most ${limit} members`, { limit })

/**
 * Sorts the users an admin asked to add: who can join, and why the others cannot. Unknown (or
 * deleted) users are `not_found`; a user who blocked the actor is `not_allowed` — the one reason for
 * every refusal about the user, so the block stays secret. Two queries whatever the number of users.
 */
async function sortCandidates(
  trx: Transaction<Database>,
  actorId: number,
  requested: readonly number[],
  currentIds: ReadonlySet<number>,
): Promise<{ joining: Array<{ id: number; name: string }>; notAdded: NotAdded[] }> {
  const ids = [...new Set(requested)]
  const [users, relations] = await Promise.all([
    new UserRepository(trx).findByIds(ids),
    relationsFor(trx, actorId, ids),
  ])
  const userById = new Map(users.map((user) => [user.id, user]))
  const joining: Array<{ id: number; name: string }> = []
  const notAdded: NotAdded[] = []
  for (const id of ids) {
    const user = userById.get(id)
    if (currentIds.has(id)) notAdded.push({ id, reason: 'already_member' })
    else if (!user) notAdded.push({ id, reason: 'not_found' })
    else if (relations.get(id)?.targetBlockedViewer) notAdded.push({ id, reason: 'not_allowed' })
    else joining.push({ id: user.id, name: user.name })
  }
  return { joining, notAdded }
}

/**
 * Locks the group for a change and checks the actor may make it: a former member or a stranger gets
 * `not_found`; a member who is not an admin gets `forbidden` when `adminOnly`.
 */
async function lockGroup(
  trx: Transaction<Database>,
  groupId: number,
  actorId: number,
  adminOnly: boolean,
): Promise<{ chat: ChatRow; members: ChatMemberRow[]; actor: ChatMemberRow }> {
  const chats = new ChatRepository(trx)
  const chat = await chats.lockForChange(groupId)
  if (chat?.type !== 'group') throw errors.notFound('Group')
  const members = await chats.activeMembers(groupId)
  const actor = members.find((member) => member.user_id === actorId)
  if (!actor) throw errors.notFound('Group')
  if (adminOnly && actor.role !== 'admin') throw errors.forbidden('Only group admins can do this')
  return { chat, members, actor }
}

/**
 * Creates a group: the creator is its admin, the participants its members. Every initial member gets
 * `chat:created`, then the `group_created` system message opens the history.
 */
export async function createGroup(
  deps: GroupDeps,
  input: { actorId: number; body: CreateGroupBody; avatar?: AttachmentRow | null },
): Promise<GroupState & { notAdded: NotAdded[] }> {
  const { actorId, body } = input
  const avatar = input.avatar ?? null
  if (avatar) checkAvatar(avatar, actorId)
  const name = cleanName(body.name, 'name')
  // Longer than any group could be: refused before a single id is looked up.
  if (body.participants.length > deps.config.maxGroupSize) throw tooBig(deps.config.maxGroupSize)
  return commit(deps, async (trx, log) => {
    const { joining, notAdded } = await sortCandidates(
      trx,
      actorId,
      body.participants.filter((id) => id !== actorId),
      new Set(),
    )
    if (joining.length + 1 > deps.config.maxGroupSize) throw tooBig(deps.config.maxGroupSize)
    const chats = new ChatRepository(trx)
    const chat = await chats.create({
      type: 'group',
      name,
      description: body.description ? cleanText(body.description) || null : null,
      avatar_url: avatar ? avatarUrl(deps.config.publicUrl, avatar.id) : null,
      avatar_attachment_id: avatar?.id ?? null,
      created_by: actorId,
      private_pair: null,
      last_activity_at: log.now,
      created_at: log.now,
      updated_at: log.now,
    })
    await chats.addMembers(
      chat.id,
      [
        { userId: actorId, role: 'admin' },
        ...joining.map((user) => ({ userId: user.id, role: 'member' as const })),
      ],
      log.now,
    )
    if (avatar) await new AttachmentRepository(trx).markAttached([avatar.id], log.now)
    const members = await chats.activeMembers(chat.id)
    await log.append(
      'chat:created',
      { chat: chatSnapshot(chat, members) },
      members.map((member) => member.user_id),
    )
    await appendSystemMessage(trx, log, chat, {
      event: 'group_created',
      actor_id: actorId,
      user_ids: joining.map((user) => user.id),
    })
    return { chat, participantsCount: members.length, notAdded }
  })
}

/**
 * Renames a group or changes its description (admins only). Members get `chat:updated` and a
 * `group_updated` system message; a change to the same values changes nothing and tells no one.
 */
export async function updateGroup(
  deps: GroupDeps,
  input: { actorId: number; groupId: number; body: UpdateGroupBody },
): Promise<GroupState> {
  const { actorId, groupId, body } = input
  const name = body.name === undefined ? undefined : cleanName(body.name, 'name')
  return commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, true)
    const changes: { name?: string; description?: string | null } = {}
    if (name !== undefined && name !== chat.name) changes.name = name
    if (body.description !== undefined) {
      const description = body.description ? cleanText(body.description) || null : null
      if (description !== chat.description) changes.description = description
    }
    if (Object.keys(changes).length === 0) return { chat, participantsCount: members.length }
    const chats = new ChatRepository(trx)
    await chats.updateInfo(chat.id, changes, log.now)
    const updated: ChatRow = { ...chat, ...changes, updated_at: log.now }
    await log.append(
      'chat:updated',
      { chat: chatSnapshot(updated, members) },
      members.map((member) => member.user_id),
    )
    await appendSystemMessage(trx, log, updated, { event: 'group_updated', actor_id: actorId, user_ids: [] })
    return { chat: (await chats.findById(chat.id)) ?? updated, participantsCount: members.length }
  })
}

/**
 * Adds users to a group (admins only). Joining users see the whole history; they get `chat:created`
 * with the group's snapshot, the members already there get `chat:member_added`, and everyone the
 * `members_added` system message. Users who cannot join are answered in `notAdded`; nobody else learns
 * of them. The group's size limit counts every member; a request that would pass it adds no one.
 */
export async function addGroupMembers(
  deps: GroupDeps,
  input: { actorId: number; groupId: number; userIds: readonly number[] },
): Promise<{ added: Array<{ id: number; name: string }>; notAdded: NotAdded[] }> {
  const { actorId, groupId } = input
  if (input.userIds.length > deps.config.maxGroupSize) throw tooBig(deps.config.maxGroupSize)
  return commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, true)
    const currentIds = new Set(members.map((member) => member.user_id))
    const { joining, notAdded } = await sortCandidates(trx, actorId, input.userIds, currentIds)
    if (joining.length === 0) return { added: [], notAdded }
    if (members.length + joining.length > deps.config.maxGroupSize) throw tooBig(deps.config.maxGroupSize)
    const chats = new ChatRepository(trx)
    const joiningIds = joining.map((user) => user.id)
    // A former member comes back as a plain member, joining now (addMembers upserts).
    await chats.addMembers(
      chat.id,
      joiningIds.map((userId) => ({ userId, role: 'member' as const })),
      log.now,
    )
    await chats.startWatermarks(chat.id, joiningIds, chat.last_seq, log.now)
    const after = await chats.activeMembers(chat.id)
    await log.append('chat:created', { chat: chatSnapshot(chat, after) }, joiningIds)
    await log.append('chat:member_added', { chat_id: chat.id, user_ids: joiningIds, actor_id: actorId }, [
      ...currentIds,
    ])
    await appendSystemMessage(trx, log, chat, {
      event: 'members_added',
      actor_id: actorId,
      user_ids: joiningIds,
    })
    return { added: joining, notAdded }
  })
}

/**
 * Removes a member (admins only); removing yourself is leaving. The removed user's devices get
 * `chat:member_removed` too, so they drop the chat; from then on it is `not_found` for them.
 */
export async function removeGroupMember(
  deps: GroupDeps,
  input: { actorId: number; groupId: number; userId: number },
): Promise<void> {
  const { actorId, groupId, userId } = input
  if (userId === actorId) return leaveGroup(deps, { actorId, groupId })
  await commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, true)
    if (!members.some((member) => member.user_id === userId)) throw errors.notFound('Member')
    await new ChatRepository(trx).markLeft(chat.id, [userId], log.now)
    await appendSystemMessage(trx, log, chat, {
      event: 'member_removed',
      actor_id: actorId,
      user_ids: [userId],
    })
    await log.append(
      'chat:member_removed',
      { chat_id: chat.id, user_id: userId, actor_id: actorId, reason: 'removed' },
      members.map((member) => member.user_id),
    )
  })
}

/**
 * Leaves a group. The other members get the `member_left` system message and `chat:member_removed`
 * (so do the leaver's own devices). When the last admin leaves, the longest-standing member becomes
 * admin (see `ensureAdmin`).
 */
export async function leaveGroup(
  deps: GroupDeps,
  input: { actorId: number; groupId: number },
): Promise<void> {
  const { actorId, groupId } = input
  await commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, false)
    await new ChatRepository(trx).markLeft(chat.id, [actorId], log.now)
    await appendSystemMessage(trx, log, chat, {
      event: 'member_left',
      actor_id: actorId,
      user_ids: [actorId],
    })
    await log.append(
      'chat:member_removed',
      { chat_id: chat.id, user_id: actorId, actor_id: actorId, reason: 'left' },
      members.map((member) => member.user_id),
    )
    await ensureAdmin(trx, log, chat)
  })
}

/**
 * A group with members always has an admin: when none is left, the longest-standing member (earliest
 * `joined_at`, then lowest user id) becomes one. The server makes this change, so `actor_id` is null.
 */
async function ensureAdmin(trx: Transaction<Database>, log: UpdateLog, chat: ChatRow): Promise<void> {
  const chats = new ChatRepository(trx)
  const members = await chats.activeMembers(chat.id)
  const [successor] = members
  if (!successor || members.some((member) => member.role === 'admin')) return
  await chats.setRole(chat.id, successor.user_id, 'admin')
  await log.append(
    'chat:member_role',
    { chat_id: chat.id, user_id: successor.user_id, role: 'admin', actor_id: null },
    members.map((member) => member.user_id),
  )
  await appendSystemMessage(trx, log, chat, {
    event: 'admin_promoted',
    actor_id: null,
    user_ids: [successor.user_id],
  })
}

/**
 * Makes a member an admin or a plain member again (admins only). Asking for the role a member already
 * has changes nothing; demoting the only admin is a `conflict` (a group always keeps an admin).
 */
export async function setGroupRole(
  deps: GroupDeps,
  input: { actorId: number; groupId: number; userId: number; role: 'admin' | 'member' },
): Promise<void> {
  const { actorId, groupId, userId, role } = input
  await commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, true)
    const target = members.find((member) => member.user_id === userId)
    if (!target) throw errors.notFound('Member')
    if (target.role === role) return
    if (role === 'member' && members.filter((member) => member.role === 'admin').length <= 1) {
      throw errors.conflict('A group needs at least one admin; make someone else admin first')
    }
    await new ChatRepository(trx).setRole(chat.id, userId, role)
    await log.append(
      'chat:member_role',
      { chat_id: chat.id, user_id: userId, role, actor_id: actorId },
      members.map((member) => member.user_id),
    )
    await appendSystemMessage(trx, log, chat, {
      event: role === 'admin' ? 'admin_promoted' : 'admin_demoted',
      actor_id: actorId,
      user_ids: [userId],
    })
  })
}

/** A group avatar must be a ready image the actor uploaded; anything else is not theirs to use. */
function checkAvatar(avatar: AttachmentRow, actorId: number): void {
  if (avatar.owner_id !== actorId || avatar.state !== 'ready' || avatar.kind !== 'image')
    throw errors.notFound('Attachment')
}

/**
 * Sets or removes (`null`) a group's photo (admins only). Members get `chat:updated` with the new
 * `avatar_url` and a `group_updated` system message, as for a rename. The previous photo is no longer
 * referenced; housekeeping removes its blobs.
 */
export async function setGroupAvatar(
  deps: GroupDeps,
  input: { actorId: number; groupId: number; avatar: AttachmentRow | null },
): Promise<GroupState> {
  const { actorId, groupId, avatar } = input
  if (avatar) checkAvatar(avatar, actorId)
  return commit(deps, async (trx, log) => {
    const { chat, members } = await lockGroup(trx, groupId, actorId, true)
    if ((chat.avatar_attachment_id ?? null) === (avatar?.id ?? null))
      return { chat, participantsCount: members.length }
    const changes = {
      avatar_url: avatar ? avatarUrl(deps.config.publicUrl, avatar.id) : null,
      avatar_attachment_id: avatar?.id ?? null,
    }
    const chats = new ChatRepository(trx)
    await chats.updateInfo(chat.id, changes, log.now)
    if (avatar) await new AttachmentRepository(trx).markAttached([avatar.id], log.now)
    const updated: ChatRow = { ...chat, ...changes, updated_at: log.now }
    await log.append(
      'chat:updated',
      { chat: chatSnapshot(updated, members) },
      members.map((member) => member.user_id),
    )
    await appendSystemMessage(trx, log, updated, { event: 'group_updated', actor_id: actorId, user_ids: [] })
    return { chat: (await chats.findById(chat.id)) ?? updated, participantsCount: members.length }
  })
}
