import type { Chat, GroupInfo, MemberRole, Message, Update } from '@parley/protocol'
import type { Presence, State } from './store.ts'

/**
 * Pure reducers for the shell around the conversation: presence, groups and their members, the names
 * of people, and which chats the list shows. Like store.ts, each is idempotent (a replayed update
 * changes nothing) and answers the same state object when nothing changed.
 */

/** A user's presence as a live event or a REST answer says; REST answers only fill what we lack. */
export function withPresence(state: State, userId: number, presence: Presence): State {
  const known = state.presence[userId]
  if (known && known.online === presence.online && known.lastSeenAt === presence.lastSeenAt) return state
  return { ...state, presence: { ...state.presence, [userId]: presence } }
}

/** Names and presence of the people a page of chats mentions (the other person of each private chat). */
export function withChatPeople(state: State, chats: readonly Chat[]): State {
  let next = state
  const names: Array<{ id: number; name: string }> = []
  for (const chat of chats) {
    const participant = chat.participant
    if (!participant) continue
    names.push(participant)
    next = withPresence(next, participant.id, {
      online: participant.is_online,
      lastSeenAt: participant.last_seen_at,
    })
    if (chat.last_message?.sender) names.push(chat.last_message.sender)
  }
  return withPeople(next, names)
}

/** Remembers display names by user id (system messages name people by id only). */
export function withPeople(state: State, people: ReadonlyArray<{ id: number; name: string }>): State {
  let changed = false
  const next: Record<number, string> = { ...state.people }
  for (const person of people) {
    if (next[person.id] === person.name) continue
    next[person.id] = person.name
    changed = true
  }
  if (!changed) return state
  // Group histories word system messages with these names: hand their views a new conversation object
  // so they render again with the names now known.
  const conversations = { ...state.conversations }
  for (const [id, conversation] of Object.entries(state.conversations)) {
    if (state.chats[Number(id)]?.type === 'group') conversations[Number(id)] = { ...conversation }
  }
  return { ...state, people: next, conversations }
}

/** Ids named by a group's loaded system messages whose names we do not know yet, as "3,5" (stable). */
export function unknownPeople(state: State, chatId: number): string {
  const conversation = state.conversations[chatId]
  if (!conversation) return ''
  const unknown = new Set<number>()
  for (const id of conversation.order) {
    const message = conversation.byId[id]
    if (message?.system === null || message?.system === undefined) continue
    const named = [message.system.actor_id, ...message.system.user_ids]
    for (const userId of named) {
      if (userId !== null && userId !== state.me?.id && state.people[userId] === undefined) {
        if (message.sender?.id !== userId) unknown.add(userId)
      }
    }
  }
  return [...unknown].sort((a, b) => a - b).join(',')
}

/** A group's info with its members; the chat's own copy of name, size and my role follows it. */
export function withGroupInfo(state: State, info: GroupInfo): State {
  let next: State = { ...state, groups: { ...state.groups, [info.id]: info } }
  next = withPeople(next, info.participants)
  const chat = next.chats[info.id]
  if (chat) {
    const mine = info.participants.find((member) => member.id === state.me?.id)
    next = {
      ...next,
      chats: {
        ...next.chats,
        [info.id]: {
          ...chat,
          name: info.name,
          description: info.description,
          participants_count: info.participants_count,
          role: mine?.role ?? chat.role,
        },
      },
    }
  }
  return next
}

/** Forgets a chat this user is no longer in (left, or was removed). */
export function withoutChat(state: State, chatId: number): State {
  if (!state.chats[chatId]) return state
  const chats = { ...state.chats }
  delete chats[chatId]
  const groups = { ...state.groups }
  delete groups[chatId]
  return { ...state, chats, groups }
}

/**
 * Applies the updates store.ts leaves to the shell: group membership, roles and renames, and the names
 * of message senders. Runs after `applyUpdate` on the same update.
 */
export function applyShellUpdate(state: State, update: Update): State {
  const me = state.me?.id
  switch (update.type) {
    case 'message:new': {
      const sender = update.data.message.sender
      return sender ? withPeople(state, [sender]) : state
    }
    case 'chat:updated': {
      const snapshot = update.data.chat
      const chat = state.chats[snapshot.id]
      let next = state
      if (chat && (chat.name !== snapshot.name || chat.description !== snapshot.description)) {
        next = {
          ...next,
          chats: {
            ...next.chats,
            [chat.id]: { ...chat, name: snapshot.name, description: snapshot.description },
          },
        }
      }
      const info = next.groups[snapshot.id]
      if (info && (info.name !== snapshot.name || info.description !== snapshot.description)) {
        next = {
          ...next,
          groups: {
            ...next.groups,
            [info.id]: { ...info, name: snapshot.name ?? info.name, description: snapshot.description },
          },
        }
      }
      return next
    }
    case 'chat:member_removed': {
      const { chat_id: chatId, user_id: userId } = update.data
      if (userId === me) return withoutChat(state, chatId)
      const info = state.groups[chatId]
      if (!info?.participants.some((member) => member.id === userId)) return state
      const participants = info.participants.filter((member) => member.id !== userId)
      return withGroupInfo(state, { ...info, participants, participants_count: participants.length })
    }
    case 'chat:member_role': {
      const { chat_id: chatId, user_id: userId, role } = update.data
      let next = state
      const chat = state.chats[chatId]
      if (userId === me && chat && chat.role !== role) {
        next = { ...next, chats: { ...next.chats, [chatId]: { ...chat, role } } }
      }
      const info = next.groups[chatId]
      const member = info?.participants.find((candidate) => candidate.id === userId)
      if (!info || !member || member.role === role) return next
      return withGroupInfo(next, {
        ...info,
        participants: info.participants.map((candidate) =>
          candidate.id === userId ? { ...candidate, role } : candidate,
        ),
      })
    }
    default:
      // chat:member_added names users by id only: the client reloads the group's info.
      return state
  }
}

export type ChatFilter = 'all' | 'unread' | 'groups'

/** The chats the list shows: archived ones or the others, narrowed by filter and by a title query. */
export function listChats(
  state: Pick<State, 'chats'>,
  options: { filter: ChatFilter; archived: boolean; query: string },
): Chat[] {
  const query = options.query.trim().toLocaleLowerCase()
  return Object.values(state.chats)
    .filter((chat) => chat.archived === options.archived)
    .filter((chat) =>
      options.filter === 'unread'
        ? chat.unread_count > 0
        : options.filter === 'groups'
          ? chat.type === 'group'
          : true,
    )
    .filter((chat) => query === '' || titleOf(chat).toLocaleLowerCase().includes(query))
    .sort(
      (a, b) => Number(b.pinned) - Number(a.pinned) || activity(b).localeCompare(activity(a)) || b.id - a.id,
    )
}

const activity = (chat: Chat) => chat.last_message?.sent_at ?? chat.updated_at
const titleOf = (chat: Chat) => (chat.type === 'private' ? (chat.participant?.name ?? '') : (chat.name ?? ''))

export function isMuted(chat: Chat, now = Date.now()): boolean {
  return chat.muted_until !== null && Date.parse(chat.muted_until) > now
}

/** Unread messages across chats that are neither archived nor muted (the page title shows it). */
export function totalUnread(state: Pick<State, 'chats'>, now = Date.now()): number {
  let total = 0
  for (const chat of Object.values(state.chats)) {
    if (!chat.archived && !isMuted(chat, now)) total += chat.unread_count
  }
  return total
}

/**
 * "Read by N of M" for my own message in a group: the server's count when the message was loaded,
 * moved forward by the read watermarks that arrived since (never backwards).
 */
export function readBy(state: State, message: Message): { read: number; of: number } | null {
  const chat = state.chats[message.chat_id]
  if (
    chat?.type !== 'group' ||
    message.message_type === 'system' ||
    message.sender_id !== state.me?.id ||
    message.sender_id === null
  ) {
    return null
  }
  const of = Math.max(chat.participants_count - 1, 0)
  const marks = state.receipts[message.chat_id]?.read ?? {}
  const live = Object.values(marks).filter((seq) => seq >= message.seq).length
  return { read: Math.min(Math.max(message.read_count ?? 0, live), of), of }
}

/** Whether I may manage the group (add, remove, promote, rename). */
export const isAdmin = (role: MemberRole | undefined) => role === 'admin'

/** `readBy` as a stable value for `useStore` (a string compares by value; a new object would not). */
export function readByLabel(state: State, message: Message | null): string | null {
  const reads = message ? readBy(state, message) : null
  return reads ? `${reads.read}/${reads.of}` : null
}
