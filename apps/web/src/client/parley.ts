import type { AuthResponse, Chat, Message, PublicUser } from '@parley/protocol'
import { ApiRequestError, ParleySocket, RestClient } from '@parley/sdk'
import {
  applyUpdate,
  type HistoryPage,
  type Outgoing,
  Store,
  withChats,
  withDeleted,
  withLoading,
  withMessages,
} from './store.ts'
import { type StoredTokens, TokenStorage } from './token-storage.ts'

const HISTORY_PAGE = 50
/** A typing indicator with no stop is dropped after this long (the server also stops it). */
const TYPING_LAPSE_MS = 8_000
/** While the composer changes, typing:start is repeated at most this often. */
const TYPING_REPEAT_MS = 3_000
/** An access token this close to its expiry is refreshed before use. */
const REFRESH_MARGIN_MS = 60_000

/**
 * The only door to the server: the SDK's RestClient and ParleySocket (with its outbox and cursor),
 * feeding the store. Views read the store and call these methods; they never fetch or open sockets.
 */
export class ParleyClient {
  readonly store = new Store()
  private readonly rest: RestClient
  private readonly tokens: TokenStorage
  private socket: ParleySocket | null = null
  private visibleChatId: number | null = null
  private refreshing: Promise<StoredTokens | null> | null = null
  private typingSentAt = new Map<number, number>()
  private typingTimer: ReturnType<typeof setInterval> | null = null
  /** Authenticated REST calls under way: sign-out waits for them, so none meets a revoked session. */
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(private readonly origin: string = window.location.origin) {
    this.rest = new RestClient({ baseUrl: origin, fetch: (...args) => fetch(...args) })
    this.tokens = new TokenStorage(window.localStorage)
  }

  private resumed: Promise<boolean> | null = null

  /** Resumes a stored session (page load; once, however often it is asked). Answers whether one was there. */
  resume(): Promise<boolean> {
    this.resumed ??= this.resumeStored()
    return this.resumed
  }

  private async resumeStored(): Promise<boolean> {
    const stored = this.tokens.load()
    if (!stored) return false
    try {
      const { user } = await this.authed(() => this.rest.users.profile())
      await this.start(user)
      return true
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 401) {
        this.tokens.clear()
        return false
      }
      throw error
    }
  }

  // ── auth ────────────────────────────────────────────────────────────────────────────────────

  async login(username: string, password: string) {
    await this.signedIn(await this.rest.auth.login({ username, password, device_name: deviceName() }))
  }

  async register(username: string, password: string, name: string) {
    await this.signedIn(
      await this.rest.auth.register({ username, password, name, device_name: deviceName() }),
    )
  }

  async sendOtp(phone: string) {
    return this.rest.auth.sendOtp({ phone_number: phone })
  }

  async verifyOtp(phone: string, otp: string) {
    await this.signedIn(
      await this.rest.auth.verifyOtp({ phone_number: phone, otp, device_name: deviceName() }),
    )
  }

  async signOut() {
    // The socket goes first; calls already under way finish before the session is revoked.
    this.socket?.close()
    this.socket = null
    await Promise.allSettled([...this.inFlight])
    const tokens = await this.freshTokens(false).catch(() => null)
    // Forgotten before the server is told: a reload meanwhile must not resume a session being revoked.
    this.tokens.clear()
    if (tokens) {
      this.rest.accessToken = tokens.access_token
      try {
        await this.rest.auth.logout()
      } catch {
        // Signed out locally whatever the server says.
      }
    }
    this.stop()
  }

  // ── chats ───────────────────────────────────────────────────────────────────────────────────

  async loadChats() {
    let cursor: string | undefined
    do {
      const page = await this.authed(() => this.rest.chats.list({ limit: 100, cursor }))
      this.store.set((state) => withChats(state, page.chats))
      cursor = page.pagination.next_cursor ?? undefined
    } while (cursor)
  }

  async searchUsers(query: string): Promise<PublicUser[]> {
    const { users } = await this.authed(() => this.rest.users.search(query, { limit: 20 }))
    return users.filter((user) => user.id !== this.store.state.me?.id)
  }

  /** Opens (or finds) the private chat with a user; answers its id. */
  async openPrivateChat(userId: number): Promise<number> {
    const { chat } = await this.authed(() => this.rest.chats.open(userId))
    this.store.set((state) => withChats(state, [chat]))
    return chat.id
  }

  /** The chat on screen: its new messages are read at once and do not count as unread. */
  setVisibleChat(chatId: number | null) {
    this.visibleChatId = chatId
    if (chatId !== null) void this.markRead(chatId)
  }

  // ── conversation ────────────────────────────────────────────────────────────────────────────

  async loadChat(chatId: number): Promise<Chat | null> {
    const known = this.store.state.chats[chatId]
    if (known) return known
    try {
      const { chat } = await this.authed(() => this.rest.chats.get(chatId))
      this.store.set((state) => withChats(state, [chat]))
      return chat
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) return null
      throw error
    }
  }

  /**
   * Loads a page of history into the chat's window: the newest page (first open), the page before the
   * oldest loaded message, or the page after the newest loaded one (a window that a jump left behind
   * the live end).
   */
  async loadHistory(chatId: number, options: { direction: 'newest' | 'older' | 'newer' }) {
    const conversation = this.store.state.conversations[chatId]
    if (conversation?.loading) return
    const { direction } = options
    if (direction === 'older' && conversation && !conversation.hasMoreBefore) return
    if (direction === 'newer' && !conversation?.hasMoreAfter) return
    const oldest = direction === 'older' ? conversation?.order[0] : undefined
    const newest = direction === 'newer' ? conversation?.order.at(-1) : undefined
    await this.loadPage(chatId, { before_message_id: oldest, after_message_id: newest }, (pagination) => {
      if (direction === 'older') return { hasMoreBefore: pagination.has_more_before }
      if (direction === 'newer') return { hasMoreAfter: pagination.has_more_after }
      return conversation?.loaded
        ? {}
        : { hasMoreBefore: pagination.has_more_before, hasMoreAfter: pagination.has_more_after }
    })
  }

  /**
   * Makes sure a message is in the chat's window: when it is not loaded, the window becomes the page
   * around it (deep links, a quoted message far back). Answers false when the message is not there
   * for this user (deleted, or not in this chat).
   */
  async reveal(chatId: number, messageId: number): Promise<boolean> {
    if (this.store.state.conversations[chatId]?.byId[messageId]) return true
    try {
      await this.loadPage(chatId, { around_message_id: messageId }, (pagination) => ({
        replace: true,
        hasMoreBefore: pagination.has_more_before,
        hasMoreAfter: pagination.has_more_after,
      }))
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) return false
      throw error
    }
    return this.store.state.conversations[chatId]?.byId[messageId] !== undefined
  }

  /** Back to the live end of a chat whose window a jump left behind it. */
  async jumpToLatest(chatId: number) {
    if (!this.store.state.conversations[chatId]?.hasMoreAfter) return
    await this.loadPage(chatId, {}, (pagination) => ({
      replace: true,
      hasMoreBefore: pagination.has_more_before,
      hasMoreAfter: false,
    }))
  }

  private async loadPage(
    chatId: number,
    anchor: { before_message_id?: number; after_message_id?: number; around_message_id?: number },
    joins: (pagination: { has_more_before: boolean; has_more_after: boolean }) => HistoryPage,
  ) {
    this.store.set((state) => withLoading(state, chatId, true))
    try {
      const page = await this.authed(() =>
        this.rest.messages.history(chatId, { limit: HISTORY_PAGE, ...anchor }),
      )
      this.store.set((state) => withMessages(state, chatId, page.messages, joins(page.pagination)))
      if (chatId === this.visibleChatId) void this.markRead(chatId)
    } catch (error) {
      this.store.set((state) => withLoading(state, chatId, false))
      throw error
    }
  }

  /** Sends a text through the SDK outbox: shown at once as pending, then as the server's message. */
  sendText(chatId: number, content: string, replyTo: Message | null = null) {
    const entry: Outgoing = {
      clientMsgId: crypto.randomUUID(),
      chatId,
      content,
      createdAt: new Date().toISOString(),
      state: 'pending',
      replyTo: replyTo ? quoteOf(replyTo) : null,
    }
    this.store.set((state) => ({ ...state, outgoing: [...state.outgoing, entry] }))
    this.typing(chatId, false)
    // A send from a window far back in history brings the live end back, where the message will be.
    void this.jumpToLatest(chatId).catch(() => {})
    this.deliver(entry)
  }

  /** Replaces the text of one of my messages; everyone sees it marked edited. */
  async editMessage(chatId: number, messageId: number, content: string) {
    const { message } = await this.authed(() => this.rest.messages.edit(messageId, content))
    this.store.set((state) =>
      applyUpdate(
        state,
        { seq: 1, type: 'message:edited', data: { chat_id: chatId, message } },
        {
          visibleChatId: this.visibleChatId,
        },
      ),
    )
  }

  /** Deletes for me, or for everyone (my own messages). The scope is always explicit: the server's
   *  default for my own message would be "for everyone". */
  async deleteMessage(chatId: number, messageId: number, scope: 'everyone' | 'me') {
    await this.authed(() => this.rest.messages.delete(messageId, { for: scope }))
    this.store.set((state) => withDeleted(state, chatId, messageId, scope))
  }

  /** Sends a copy of a message to other chats of mine. */
  async forward(messageId: number, chatIds: number[]) {
    const { messages } = await this.authed(() => this.rest.messages.forward(messageId, chatIds))
    for (const message of messages) {
      this.store.set((state) =>
        applyUpdate(
          state,
          { seq: 1, type: 'message:new', data: { chat_id: message.chat_id, message } },
          {
            visibleChatId: this.visibleChatId,
          },
        ),
      )
    }
  }

  /** Adds my reaction, or takes it back when I had already reacted with that emoji. The new counts
   *  arrive as `message:reaction` on every member's devices, this one included. */
  async toggleReaction(message: Message, emoji: string) {
    const me = this.store.state.me?.id
    const mine = message.reactions.some(
      (reaction) => reaction.emoji === emoji && reaction.users.some((user) => user.id === me),
    )
    if (mine) await this.authed(() => this.rest.messages.unreact(message.id, emoji))
    else await this.authed(() => this.rest.messages.react(message.id, emoji))
  }

  retry(clientMsgId: string) {
    const entry = this.store.state.outgoing.find((item) => item.clientMsgId === clientMsgId)
    if (!entry) return
    const pending: Outgoing = { ...entry, state: 'pending' }
    this.store.set((state) => ({
      ...state,
      outgoing: state.outgoing.map((item) => (item.clientMsgId === clientMsgId ? pending : item)),
    }))
    this.deliver(pending)
  }

  /** Called as the composer changes: typing:start now and then while there is text, stop when empty. */
  typing(chatId: number, active: boolean) {
    const socket = this.socket
    if (!socket) return
    const last = this.typingSentAt.get(chatId)
    if (!active) {
      if (last !== undefined) socket.typing(chatId, false)
      this.typingSentAt.delete(chatId)
      return
    }
    const now = Date.now()
    if (last !== undefined && now - last < TYPING_REPEAT_MS) return
    if (socket.typing(chatId, true)) this.typingSentAt.set(chatId, now)
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  private deliver(entry: Outgoing) {
    const socket = this.socket
    if (!socket) return
    socket
      .send(entry.chatId, {
        message_type: 'text',
        content: entry.content,
        client_msg_id: entry.clientMsgId,
        reply_to_message_id: entry.replyTo?.id ?? null,
      })
      .then((message) => {
        this.store.set((state) => withMessages(state, entry.chatId, [message]))
      })
      .catch(() => {
        this.store.set((state) => ({
          ...state,
          outgoing: state.outgoing.map((item) =>
            item.clientMsgId === entry.clientMsgId ? { ...item, state: 'failed' } : item,
          ),
        }))
      })
  }

  private async markRead(chatId: number) {
    const state = this.store.state
    const conversation = state.conversations[chatId]
    const chat = state.chats[chatId]
    const newest = conversation?.order.at(-1)
    if (!chat || newest === undefined || document.visibilityState !== 'visible') return
    const message = conversation?.byId[newest]
    if (!message || (chat.unread_count === 0 && message.sender_id === state.me?.id)) return
    this.store.set((current) => {
      const known = current.chats[chatId]
      return known && known.unread_count > 0
        ? { ...current, chats: { ...current.chats, [chatId]: { ...known, unread_count: 0 } } }
        : current
    })
    try {
      if (this.socket?.state === 'ready') {
        await this.socket.request('message:read', { chat_id: chatId, message_id: newest })
      } else {
        await this.authed(() => this.rest.messages.read(chatId, newest))
      }
    } catch {
      // A read that did not reach the server is sent again with the next message or visit.
    }
  }

  private async signedIn(answer: AuthResponse) {
    this.tokens.save({
      access_token: answer.tokens.access_token,
      refresh_token: answer.tokens.refresh_token,
      expires_at: answer.tokens.expires_at,
      user_id: answer.user.id,
    })
    await this.start(answer.user)
  }

  private async start(me: AuthResponse['user']) {
    this.store.set((state) => ({ ...state, me }))
    // A device with no cursor starts at the user's current seq: its state comes from REST below.
    let since = this.tokens.cursor(me.id)
    if (since === null) {
      const answer = await this.authed(() => this.rest.sync(Number.MAX_SAFE_INTEGER))
      since = 'current_seq' in answer ? answer.current_seq : answer.next_seq
      this.tokens.saveCursor(me.id, since)
    }
    const socket = new ParleySocket({
      getToken: async ({ refresh }) => (await this.freshTokens(refresh))?.access_token ?? '',
      since,
      store: {
        load: () => this.tokens.cursor(me.id) ?? since,
        save: (seq) => this.tokens.saveCursor(me.id, seq),
      },
    })
    this.socket = socket
    const setConnection = () => this.store.set((state) => ({ ...state, connection: socket.state }))
    socket.on('ready', setConnection)
    socket.on('disconnected', setConnection)
    socket.on('reconnecting', setConnection)
    socket.on('closed', ({ code }) => {
      setConnection()
      // 4xxx terminal closes (session revoked, account gone): back to the sign-in screen.
      if (this.socket === socket && code >= 4000) this.stop()
    })
    socket.on('update', (update) => {
      this.store.set((state) => applyUpdate(state, update, { visibleChatId: this.visibleChatId }))
      if (update.type === 'message:new') {
        const chatId = update.data.chat_id
        if (!this.store.state.chats[chatId]) void this.loadChat(chatId)
        else if (chatId === this.visibleChatId && update.data.message.sender_id !== me.id) {
          void this.markRead(chatId)
        }
      } else if (update.type === 'chat:created') {
        void this.loadChat(update.data.chat.id)
      }
    })
    socket.on('resync', () => {
      this.store.set((state) => ({ ...state, conversations: {} }))
      void this.loadChats()
    })
    socket.onEvent('typing:start', ({ chat_id, user_id }) => this.setTyping(chat_id, user_id, true))
    socket.onEvent('typing:stop', ({ chat_id, user_id }) => this.setTyping(chat_id, user_id, false))
    this.typingTimer = setInterval(() => this.lapseTyping(), 1_000)
    setConnection()
    void socket.connect(() => `${this.origin.replace(/^http/, 'ws')}/ws`)
    await this.loadChats()
  }

  private stop() {
    this.socket?.close()
    this.socket = null
    if (this.typingTimer) clearInterval(this.typingTimer)
    this.typingTimer = null
    this.tokens.clear()
    this.rest.accessToken = null
    this.store.reset()
  }

  private setTyping(chatId: number, userId: number, active: boolean) {
    this.store.set((state) => {
      const current = { ...(state.typing[chatId] ?? {}) }
      if (active) current[userId] = Date.now() + TYPING_LAPSE_MS
      else if (current[userId] === undefined) return state
      else delete current[userId]
      return { ...state, typing: { ...state.typing, [chatId]: current } }
    })
  }

  private lapseTyping() {
    const now = Date.now()
    for (const [chatId, users] of Object.entries(this.store.state.typing)) {
      for (const [userId, until] of Object.entries(users)) {
        if (until <= now) this.setTyping(Number(chatId), Number(userId), false)
      }
    }
  }

  /**
   * Runs a REST call with a fresh access token; on a 401 it refreshes once and tries again. Refreshing
   * is single-flight and, across tabs, serialised with a Web Lock: a refresh token is single-use, and
   * presenting a spent one revokes the session.
   */
  private authed<T>(call: () => Promise<T>): Promise<T> {
    const pending = this.authedCall(call)
    this.inFlight.add(pending)
    void pending.then(
      () => this.inFlight.delete(pending),
      () => this.inFlight.delete(pending),
    )
    return pending
  }

  private async authedCall<T>(call: () => Promise<T>): Promise<T> {
    const tokens = await this.freshTokens(false)
    this.rest.accessToken = tokens?.access_token ?? null
    try {
      return await call()
    } catch (error) {
      if (!(error instanceof ApiRequestError) || error.status !== 401 || !tokens) throw error
      const renewed = await this.freshTokens(true)
      if (!renewed) throw error
      this.rest.accessToken = renewed.access_token
      return call()
    }
  }

  private freshTokens(force: boolean): Promise<StoredTokens | null> {
    const stored = this.tokens.load()
    if (!stored) return Promise.resolve(null)
    if (!force && Date.parse(stored.expires_at) - Date.now() > REFRESH_MARGIN_MS) {
      return Promise.resolve(stored)
    }
    this.refreshing ??= withLock('parley-refresh', async () => {
      // Another tab may have refreshed while this one waited for the lock.
      const latest = this.tokens.load()
      if (!latest) return null
      if (latest.refresh_token !== stored.refresh_token) return latest
      try {
        const answer = await this.rest.auth.refresh(latest.refresh_token)
        const next: StoredTokens = {
          ...latest,
          access_token: answer.access_token,
          refresh_token: answer.refresh_token,
          expires_at: answer.expires_at,
        }
        this.tokens.save(next)
        return next
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 401) {
          this.stop()
          return null
        }
        throw error
      }
    }).finally(() => {
      this.refreshing = null
    })
    return this.refreshing
  }
}

function withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks
  return locks ? locks.request(name, task) : task()
}

function deviceName(): string {
  const agent = navigator.userAgent
  const browser = /Firefox\//.test(agent)
    ? 'Firefox'
    : /Edg\//.test(agent)
      ? 'Edge'
      : /Chrome\//.test(agent)
        ? 'Chrome'
        : /Safari\//.test(agent)
          ? 'Safari'
          : 'Browser'
  return `${browser} (web)`
}

/** The quoted preview of a message, as the server puts it in a reply. */
function quoteOf(message: Message): NonNullable<Message['reply_to']> {
  return {
    id: message.id,
    sender_id: message.sender_id,
    message_type: message.message_type,
    content: message.content,
    deleted: message.deleted,
  }
}
