import type { MessageReceipt } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { isoOrNull } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { MessageRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'

/**
 * Who has the sender's message delivered and read, from the other current members' watermarks: it is
 * delivered to a member whose `delivered_seq` reached its seq, read by one whose `read_seq` did. The
 * times are the watermark's: when it last moved, so at or after it reached this message. Only the
 * sender may ask (others: 403). Two queries whatever the group size.
 */
export async function messageReceipts(
  deps: Pick<Deps, 'store'>,
  viewerId: number,
  message: MessageRow,
): Promise<MessageReceipt[]> {
  if (message.sender_id !== viewerId) throw errors.forbidden('Only the sender can see who received a message')
  const members = (await new ChatRepository(deps.store.db).activeMembers(message.chat_id)).filter(
    (member) => member.user_id !== viewerId,
  )
  const users = new Map(
    (await new UserRepository(deps.store.db).findByIds(members.map((member) => member.user_id))).map(
      (user) => [user.id, user],
    ),
  )
  return members.map((member) => ({
    user: { id: member.user_id, name: users.get(member.user_id)?.name ?? 'Deleted user' },
    delivered_at: member.delivered_seq >= message.seq ? isoOrNull(member.delivered_at) : null,
    read_at: member.read_seq >= message.seq ? isoOrNull(member.read_at) : null,
  }))
}
