import type { GroupInfo } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { presentGroupInfo } from '../presenters/group.presenter.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { Executor } from '../store/db.ts'
import type { ChatRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'
import { type ChatAccess, chatForMember } from './chats.ts'
import { relationsFor } from './relations.ts'

/** A group the user is a current member of; `not_found` for missing, private and not-yours alike. */
export async function groupForMember(
  deps: Pick<Deps, 'store'>,
  userId: number,
  chatId: number,
): Promise<ChatAccess> {
  const access = await chatForMember(deps, userId, chatId)
  if (access.chat.type !== 'group') throw errors.notFound('Group')
  return access
}

/** A group with its members as `viewerId` sees them, in four queries whatever the group's size. */
export async function groupInfoView(db: Executor, viewerId: number, chat: ChatRow): Promise<GroupInfo> {
  const members = await new ChatRepository(db).activeMembers(chat.id)
  const memberIds = members.map((member) => member.user_id)
  const [users, relations] = await Promise.all([
    new UserRepository(db).findByIds(chat.created_by === null ? memberIds : [...memberIds, chat.created_by]),
    relationsFor(db, viewerId, memberIds),
  ])
  return presentGroupInfo({
    viewerId,
    chat,
    members,
    users: new Map(users.map((user) => [user.id, user])),
    relations,
  })
}
