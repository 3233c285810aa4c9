import type { Chat, GroupInfo, Message, OwnProfile, Update } from '@parley/protocol'
import type { SocketState } from '@parley/sdk'

/** A message this device sent that the server has not answered yet (or refused). */
/** A media message on its way up (not kept across reloads: the files live in this page only). */
export interface Upload {
  clientMsgId: string
  chatId: number
  messageType: 'image' | 'video' | 'audio' | 'document'
  files: readonly File[]
  /** Object URLs of the images and videos, for the pending bubble. */
  previews: readonly (string | null)[]
  caption: string
  createdAt: string
  replyTo: Message['reply_to']
  /** 0–1 of the bytes sent. */
  progress: number
  state: 'uploading' | 'failed'
  error: { status: number; code: string; message: string } | null
}

export interface Outgoing {
  clientMsgId: string
  chatId: number
  content: string
  createdAt: string
  state: 'pending' | 'failed'
  /** The message this one answers (shown quoted in the pending bubble). */
  replyTo?: Message['reply_to']
}

/**
 * One chat's loaded history: one contiguous window of messages by id, ordered by their per-chat seq.
 * A deep link (or a quoted message far back) replaces the window with the page around its message;
 * then `hasMoreAfter` is true and live messages past the window wait until the reader scrolls down
 * (adding them would leave a hole in the window).
 */
export interface Conversation {
  byId: Readonly<Record<number, Message>>
  /** Message ids, ascending seq. */
  order: readonly number[]
  hasMoreBefore: boolean
  hasMoreAfter: boolean
  loading: boolean
  loaded: boolean
}

/** How a page of history joins the window: older or newer than it, or instead of it (a jump). */
export interface HistoryPage {
  hasMoreBefore?: boolean
  hasMoreAfter?: boolean
  replace?: boolean
}

/** Highest per-chat message seq each other member has had delivered / has read (watermarks). */
export interface Receipts {
  delivered: Readonly<Record<number, number>>
  read: Readonly<Record<number, number>>
}

export interface State {
  me: OwnProfile | null
  connection: SocketState
  chatsLoaded: boolean
  chats: Readonly<Record<number, Chat>>
  conversations: Readonly<Record<number, Conversation>>
  receipts: Readonly<Record<number, Receipts>>
  outgoing: readonly Outgoing[]
  uploads: readonly Upload[]
  /** chat id → user id → when the indicator lapses (ms since epoch) if no stop arrives. */
  typing: Readonly<Record<number, Readonly<Record<number, number>>>>
  /** The newest message from someone else that arrived live (for the aria-live announcement). */
  lastIncoming: Message | null
  // ── the shell around the conversation (reducers in shell.ts) ──
  /** Whether the browser says it has a network (navigator.onLine, `online`/`offline` events). */
  online: boolean
  /** user id → online now, or when last seen; only what the user's privacy lets us see. */
  presence: Readonly<Record<number, Presence>>
  /** Group chat id → its info with members and roles (loaded when a group is opened). */
  groups: Readonly<Record<number, GroupInfo>>
  /** user id → display name, from every place a user shows up (system messages name people by id). */
  people: Readonly<Record<number, string>>
}

export interface Presence {
  online: boolean
  lastSeenAt: string | null
}

export const initialState: State = {
  me: null,
  connection: 'idle',
  chatsLoaded: false,
  chats: {},
  conversations: {},
  receipts: {},
  outgoing: [],
  uploads: [],
  typing: {},
  lastIncoming: null,
  online: true,
  presence: {},
  groups: {},
  people: {},
}

const emptyConversation: Conversation = {
  byId: {},
  order: [],
  hasMoreBefore: true,
  hasMoreAfter: false,
  loading: false,
  loaded: false,
}
const emptyReceipts: Receipts = { delivered: {}, read: {} }

/**
 * A small typed store: one immutable state, replaced on every change, read by views through
 * `useSyncExternalStore`. Only the client layer (client/parley.ts) writes to it; everything it applies
 * is keyed by chat and message id and merged by seq, so applying the same update twice (a replay after
 * a reconnect, a REST page overlapping a live message) changes nothing.
 */
export class Store {
  private current: State = initialState
  private readonly listeners = new Set<() => void>()

  get state(): State {
    return this.current
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getState = (): State => this.current

  set(change: (state: State) => State): void {
    const next = change(this.current)
    if (next === this.current) return
    this.current = next
    for (const listener of [...this.listeners]) listener()
  }

  reset(): void {
    this.set(() => initialState)
  }
}

// ── pure reducers (tested in store.test.ts) ────────────────────────────────────────────────────

/** Merges a page of chats from REST: a chat we already know keeps its newer last message. */
export function withChats(state: State, chats: readonly Chat[]): State {
  const next = { ...state.chats }
  for (const chat of chats) {
    const known = next[chat.id]
    const knownSeq = known?.last_message?.seq ?? 0
    next[chat.id] =
      known && knownSeq > (chat.last_message?.seq ?? 0)
        ? { ...chat, last_message: known.last_message, unread_count: known.unread_count }
        : chat
  }
  return { ...state, chats: next, chatsLoaded: true }
}

/**
 * Adds messages (a history page, a send's answer, a live update) to their chat; idempotent by id. A
 * message outside the loaded window (a live one past a jumped-to window, an edit of a message not
 * loaded) is left for the page that will bring it in context.
 */
export function withMessages(
  state: State,
  chatId: number,
  messages: readonly Message[],
  page?: HistoryPage,
): State {
  const conversation = state.conversations[chatId] ?? emptyConversation
  const byId: Record<number, Message> = page?.replace ? {} : { ...conversation.byId }
  const first = conversation.order[0]
  const last = conversation.order.at(-1)
  const minSeq = page?.replace || first === undefined ? null : (conversation.byId[first]?.seq ?? null)
  const maxSeq = page?.replace || last === undefined ? null : (conversation.byId[last]?.seq ?? null)
  let changed = page?.replace === true
  for (const message of messages) {
    const known = byId[message.id]
    if (!known && !page && maxSeq !== null && minSeq !== null) {
      if (conversation.hasMoreAfter && message.seq > maxSeq) continue
      if (conversation.loaded && conversation.hasMoreBefore && message.seq < minSeq) continue
    }
    if (known && !newer(message, known)) continue
    // The status the server gave the sender only ever moves forward (sent → delivered → read).
    byId[message.id] = known ? { ...message, status: laterStatus(known.status, message.status) } : message
    changed = true
  }
  const order = changed
    ? Object.values(byId)
        .sort((a, b) => a.seq - b.seq)
        .map((message) => message.id)
    : conversation.order
  const clientIds = new Set(messages.map((message) => message.client_msg_id).filter(Boolean))
  const outgoing = state.outgoing.filter((entry) => !clientIds.has(entry.clientMsgId))
  const uploads = state.uploads.filter((entry) => !clientIds.has(entry.clientMsgId))
  if (
    !changed &&
    !page &&
    outgoing.length === state.outgoing.length &&
    uploads.length === state.uploads.length
  ) {
    return state
  }
  return {
    ...state,
    outgoing: outgoing.length === state.outgoing.length ? state.outgoing : outgoing,
    uploads: uploads.length === state.uploads.length ? state.uploads : uploads,
    conversations: {
      ...state.conversations,
      [chatId]: {
        byId,
        order,
        hasMoreBefore: page?.hasMoreBefore ?? conversation.hasMoreBefore,
        hasMoreAfter: page?.hasMoreAfter ?? (page?.replace ? false : conversation.hasMoreAfter),
        loading: page ? false : conversation.loading,
        loaded: conversation.loaded || page !== undefined,
      },
    },
  }
}

/** Changes one loaded message (and the chat's preview when it is the last one); no-op when not loaded. */
function withMessageChanged(
  state: State,
  chatId: number,
  messageId: number,
  change: (message: Message) => Message,
): State {
  let next = state
  const conversation = state.conversations[chatId]
  const known = conversation?.byId[messageId]
  if (conversation && known) {
    next = {
      ...next,
      conversations: {
        ...next.conversations,
        [chatId]: { ...conversation, byId: { ...conversation.byId, [messageId]: change(known) } },
      },
    }
  }
  const chat = next.chats[chatId]
  if (chat?.last_message?.id === messageId) {
    next = {
      ...next,
      chats: { ...next.chats, [chatId]: { ...chat, last_message: change(chat.last_message) } },
    }
  }
  return next
}

/** Rewrites the quoted preview in every loaded reply to `messageId`. */
function withQuotesChanged(
  state: State,
  chatId: number,
  messageId: number,
  change: (quote: NonNullable<Message['reply_to']>) => NonNullable<Message['reply_to']>,
): State {
  const conversation = state.conversations[chatId]
  if (!conversation) return state
  let byId: Record<number, Message> | null = null
  for (const id of conversation.order) {
    const message = conversation.byId[id]
    if (message?.reply_to?.id !== messageId) continue
    byId ??= { ...conversation.byId }
    byId[id] = { ...message, reply_to: change(message.reply_to) }
  }
  if (!byId) return state
  return { ...state, conversations: { ...state.conversations, [chatId]: { ...conversation, byId } } }
}

/**
 * A delete: for everyone the message stays as its placeholder (text, reactions and quotes of it gone);
 * for me it leaves this user's history, and the chat's preview falls back to the message before it.
 */
export function withDeleted(
  state: State,
  chatId: number,
  messageId: number,
  scope: 'everyone' | 'me',
): State {
  if (scope === 'everyone') {
    const next = withMessageChanged(state, chatId, messageId, (message) => ({
      ...message,
      deleted: true,
      content: null,
      location: null,
      contact: null,
      reactions: [],
    }))
    return withQuotesChanged(next, chatId, messageId, (quote) => ({ ...quote, content: null, deleted: true }))
  }
  let next = state
  const conversation = state.conversations[chatId]
  const index = conversation?.order.indexOf(messageId) ?? -1
  if (conversation && index >= 0) {
    const byId = { ...conversation.byId }
    delete byId[messageId]
    next = {
      ...next,
      conversations: {
        ...next.conversations,
        [chatId]: { ...conversation, byId, order: conversation.order.filter((id) => id !== messageId) },
      },
    }
  }
  const chat = next.chats[chatId]
  if (chat?.last_message?.id === messageId) {
    const previousId = index > 0 ? conversation?.order[index - 1] : undefined
    const previous = previousId === undefined ? null : (conversation?.byId[previousId] ?? null)
    next = { ...next, chats: { ...next.chats, [chatId]: { ...chat, last_message: previous } } }
  }
  return next
}

/** The reactions of a message as the server summarised them after a change. */
export function withReactions(
  state: State,
  chatId: number,
  messageId: number,
  reactions: Message['reactions'],
): State {
  return withMessageChanged(state, chatId, messageId, (message) =>
    message.deleted ? message : { ...message, reactions },
  )
}

export function withLoading(state: State, chatId: number, loading: boolean): State {
  const conversation = state.conversations[chatId] ?? emptyConversation
  if (conversation.loading === loading) return state
  return { ...state, conversations: { ...state.conversations, [chatId]: { ...conversation, loading } } }
}

/** Applies one update of the user's log. `openChatId` is the chat on screen (its messages are read). */
export function applyUpdate(state: State, update: Update, options: { visibleChatId: number | null }): State {
  switch (update.type) {
    case 'message:new': {
      const { chat_id: chatId, message } = update.data
      const chat = state.chats[chatId]
      let next = withMessages(state, chatId, [message])
      if (!chat) return next
      const knownSeq = chat.last_message?.seq ?? 0
      if (message.seq <= knownSeq) return next // a replay: the chat already counts it
      const fromOther = message.sender_id !== state.me?.id
      const unread = fromOther && options.visibleChatId !== chatId ? chat.unread_count + 1 : chat.unread_count
      next = {
        ...next,
        chats: {
          ...next.chats,
          [chatId]: { ...chat, last_message: message, unread_count: unread, updated_at: message.sent_at },
        },
      }
      if (fromOther) {
        const typing = { ...(next.typing[chatId] ?? {}) }
        if (message.sender_id !== null) delete typing[message.sender_id]
        next = { ...next, typing: { ...next.typing, [chatId]: typing }, lastIncoming: message }
      }
      return next
    }
    case 'message:edited': {
      const { chat_id: chatId, message } = update.data
      let next = withMessages(state, chatId, [message])
      const chat = next.chats[chatId]
      if (chat?.last_message?.id === message.id && newer(message, chat.last_message)) {
        next = { ...next, chats: { ...next.chats, [chatId]: { ...chat, last_message: message } } }
      }
      return withQuotesChanged(next, chatId, message.id, (quote) =>
        quote.deleted ? quote : { ...quote, content: message.content },
      )
    }
    case 'message:deleted':
      return withDeleted(state, update.data.chat_id, update.data.message_id, update.data.for)
    case 'message:reaction':
      return withReactions(state, update.data.chat_id, update.data.message_id, update.data.reactions)
    case 'message:delivered':
    case 'message:read': {
      const { chat_id: chatId, user_id: userId } = update.data
      const seq = update.type === 'message:read' ? update.data.read_seq : update.data.delivered_seq
      if (userId === state.me?.id) {
        // Another device of ours read the chat.
        const chat = state.chats[chatId]
        if (update.type === 'message:read' && chat && seq >= (chat.last_message?.seq ?? 0)) {
          return { ...state, chats: { ...state.chats, [chatId]: { ...chat, unread_count: 0 } } }
        }
        return state
      }
      const receipts = state.receipts[chatId] ?? emptyReceipts
      const key = update.type === 'message:read' ? 'read' : 'delivered'
      if ((receipts[key][userId] ?? 0) >= seq) return state
      const next: Receipts = { ...receipts, [key]: { ...receipts[key], [userId]: seq } }
      // Whoever read a message also has it.
      if (key === 'read' && (next.delivered[userId] ?? 0) < seq) {
        return {
          ...state,
          receipts: {
            ...state.receipts,
            [chatId]: { read: next.read, delivered: { ...next.delivered, [userId]: seq } },
          },
        }
      }
      return { ...state, receipts: { ...state.receipts, [chatId]: next } }
    }
    case 'chat:settings': {
      const chat = state.chats[update.data.chat_id]
      if (!chat) return state
      const { muted_until, pinned, archived } = update.data
      return {
        ...state,
        chats: { ...state.chats, [chat.id]: { ...chat, muted_until, pinned, archived } },
      }
    }
    default:
      // Group changes belong to the groups UI (apps/web/README.md, "What is left").
      return state
  }
}

/** The ticks a sender sees: the server's status, moved forward by the watermarks that arrived since. */
export function statusOf(state: State, message: Message): 'sent' | 'delivered' | 'read' | null {
  if (message.sender_id === null || message.sender_id !== state.me?.id) return null
  const chat = state.chats[message.chat_id]
  const receipts = state.receipts[message.chat_id] ?? emptyReceipts
  const others = Math.max((chat?.participants_count ?? 2) - 1, 1)
  const reached = (marks: Readonly<Record<number, number>>) =>
    Object.values(marks).filter((seq) => seq >= message.seq).length >= others
  const derived = reached(receipts.read) ? 'read' : reached(receipts.delivered) ? 'delivered' : 'sent'
  return laterStatus(message.status, derived) ?? 'sent'
}

/** Chats by last activity, newest first (pinned first, as the server lists them). */
export function sortedChats(chats: Readonly<Record<number, Chat>>): Chat[] {
  return Object.values(chats)
    .filter((chat) => !chat.archived)
    .sort(
      (a, b) => Number(b.pinned) - Number(a.pinned) || activity(b).localeCompare(activity(a)) || b.id - a.id,
    )
}

const activity = (chat: Chat) => chat.last_message?.sent_at ?? chat.updated_at

const RANK = { sent: 1, delivered: 2, read: 3 } as const
type Status = keyof typeof RANK

function laterStatus(a: Status | null, b: Status | null): Status | null {
  if (a === null) return b
  if (b === null) return a
  return RANK[a] >= RANK[b] ? a : b
}

function newer(incoming: Message, known: Message): boolean {
  if (incoming.edited_at !== known.edited_at || incoming.deleted !== known.deleted) return true
  if (reactionsKey(incoming.reactions) !== reactionsKey(known.reactions)) return true
  if (incoming.reply_to?.content !== known.reply_to?.content) return true
  return laterStatus(known.status, incoming.status) !== known.status
}

const reactionsKey = (reactions: Message['reactions']) =>
  reactions
    .map((reaction) => `${reaction.emoji}:${reaction.users.map((user) => user.id).join(',')}`)
    .join(';')

/**
 * Where the "N unread messages" divider goes: the oldest of the last `unread` messages from others in
 * the window. `null` when nothing is unread; the oldest loaded one when the window does not reach back
 * far enough (the caller loads older pages first while it can).
 */
export function firstUnreadId(conversation: Conversation, meId: number, unread: number): number | null {
  if (unread <= 0) return null
  let seen = 0
  let firstFound: number | null = null
  for (let index = conversation.order.length - 1; index >= 0; index--) {
    const id = conversation.order[index]
    if (id === undefined) continue
    const message = conversation.byId[id]
    if (!message || message.sender_id === meId || message.message_type === 'system') continue
    firstFound = id
    seen += 1
    if (seen === unread) return id
  }
  return firstFound
}

/** The newest message of mine that can still be edited (↑ in an empty composer). */
export function lastEditable(conversation: Conversation | undefined, meId: number): Message | null {
  if (!conversation) return null
  for (let index = conversation.order.length - 1; index >= 0; index--) {
    const id = conversation.order[index]
    const message = id === undefined ? undefined : conversation.byId[id]
    if (message && message.sender_id === meId && message.message_type === 'text' && !message.deleted) {
      return message
    }
  }
  return null
}
