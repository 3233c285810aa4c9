import { isMediaMessageType, type Message } from '@parley/protocol'
import { type MessageContext, presentMessage } from '../presenters/message.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { Executor } from '../store/db.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatMemberRow, ChatRow, MessageRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'

/**
 * Presents messages (of one or several chats) as `viewerId` sees them: senders, reactions, reply
 * previews, attachments and the sender's ticks, in a constant number of queries whatever the number
 * of rows. `members` may pass the chats' current members when the caller has them already; `fresh`
 * says the rows were just inserted, so they have no reactions yet. `baseUrl` (PARLEY_PUBLIC_URL)
 * prefixes the media URLs.
 */
export async function messageViews(
  db: Executor,
  viewerId: number,
  chats: ReadonlyArray<Pick<ChatRow, 'id' | 'type'>>,
  rows: readonly MessageRow[],
  members:
    | ReadonlyArray<Pick<ChatMemberRow, 'chat_id' | 'user_id' | 'delivered_seq' | 'read_seq'>>
    | undefined,
  options: { baseUrl: string | null; fresh?: boolean },
): Promise<Message[]> {
  if (rows.length === 0) return []
  const messages = new MessageRepository(db)
  const replyIds = rows.flatMap((row) => (row.reply_to_message_id === null ? [] : [row.reply_to_message_id]))
  const chatsWithOwnMessages = [
    ...new Set(rows.filter((row) => row.sender_id === viewerId).map((row) => row.chat_id)),
  ]
  const [reactions, replies, watermarks, attachments] = await Promise.all([
    options.fresh ? [] : messages.reactionsOf(rows.map((row) => row.id)),
    messages.findByIds(replyIds),
    members ?? new ChatRepository(db).activeMembersOf(chatsWithOwnMessages),
    // Only media messages hold attachments: a page (or a send) of text costs no attachment query.
    new AttachmentRepository(db).ofMessages([
      ...rows.filter((row) => isMediaMessageType(row.message_type)).map((row) => row.id),
      ...replyIds,
    ]),
  ])
  const userIds = [
    ...rows.flatMap((row) => (row.sender_id === null ? [] : [row.sender_id])),
    ...reactions.map((reaction) => reaction.user_id),
  ]
  const users = new Map((await new UserRepository(db).findByIds(userIds)).map((user) => [user.id, user]))
  const reactionsByMessage = groupBy(reactions, (reaction) => reaction.message_id)
  const othersByChat = groupBy(
    watermarks.filter((member) => member.user_id !== viewerId),
    (member) => member.chat_id,
  )
  const replyById = new Map(replies.map((reply) => [reply.id, reply]))
  const typeOf = new Map(chats.map((chat) => [chat.id, chat.type]))
  return rows.map((row) => {
    const context: MessageContext = {
      viewerId,
      isGroup: typeOf.get(row.chat_id) === 'group',
      users,
      reactions: reactionsByMessage,
      replies: replyById,
      otherWatermarks: othersByChat.get(row.chat_id) ?? [],
      attachments,
      baseUrl: options.baseUrl,
    }
    // A reply preview only ever shows a message of the same chat.
    const reply = row.reply_to_message_id === null ? undefined : replyById.get(row.reply_to_message_id)
    return presentMessage(
      row,
      reply && reply.chat_id !== row.chat_id ? { ...context, replies: new Map() } : context,
    )
  })
}

export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const group = groups.get(key(item))
    if (group) group.push(item)
    else groups.set(key(item), [item])
  }
  return groups
}
