import type {
  AuthResponse,
  Chat,
  ChatSettingsBody,
  Contact,
  ContactRequest,
  GroupInfo,
  Message,
  PrivacySettings,
  PublicUser,
  SearchResult,
  Session,
  UpdatePrivacyBody,
  UpdateProfileBody,
} from '@parley/protocol'
import { ApiRequestError, ParleySocket, RestClient } from '@parley/sdk'
import { sendMultipart, UploadCancelled, UploadFailed } from './media-upload.ts'
import { OutboxStorage } from './outbox-storage.ts'
import {
  applyShellUpdate,
  isMuted,
  withChatPeople,
  withGroupInfo,
  withoutChat,
  withPeople,
  withPresence,
} from './shell.ts'
import {
  applyUpdate,
  type HistoryPage,
  type Outgoing,
  Store,
  type Upload,
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
  private signingOut = false
  /** client_msg_id → how to stop its upload under way. */
  private readonly uploadCancels = new Map<string, () => void>()
  private readonly outboxStorage: OutboxStorage
  /** Stops saving the outbox of the signed-in user (set while signed in). */
  private stopPersisting: (() => void) | null = null
  /** Shows a desktop notification for a message (main.tsx wires the browser's Notification API). */
  notify: ((chat: Chat, message: Message) => void) | null = null

  constructor(private readonly origin: string = window.location.origin) {
    this.rest = new RestClient({ baseUrl: origin, fetch: (...args) => fetch(...args) })
    this.tokens = new TokenStorage(window.localStorage)
    this.outboxStorage = new OutboxStorage(window.localStorage)
    this.store.set((state) => ({ ...state, online: navigator.onLine }))
    window.addEventListener('offline', () => this.store.set((state) => ({ ...state, online: false })))
    window.addEventListener('online', () => {
      this.store.set((state) => ({ ...state, online: true }))
      // Back on the network: no need to sit out the rest of a back-off.
      this.socket?.reconnectNow()
    })
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
    // The socket goes first; calls already under way finish before the session is revoked, and no new
    // one starts meanwhile (a chat list page or a panel's load would meet the revoked session: a 401).
    this.signingOut = true
    this.socket?.close()
    this.socket = null
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    const tokens = await this.freshTokens(false).catch(() => null)
    // Forgotten before the server is told: a reload meanwhile must not resume a session being revoked.
    const me = this.store.state.me
    this.tokens.clear()
    // Unsent messages are not left behind on a device someone signed out of.
    this.stopPersisting?.()
    if (me) this.outboxStorage.clear(me.id)
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
    for (const archived of [false, true]) {
      let cursor: string | undefined
      do {
        const page = await this.authed(() => this.rest.chats.list({ limit: 100, cursor, archived }))
        this.store.set((state) => withChatPeople(withChats(state, page.chats), page.chats))
        cursor = page.pagination.next_cursor ?? undefined
      } while (cursor)
    }
  }

  async searchUsers(query: string): Promise<PublicUser[]> {
    const { users } = await this.authed(() => this.rest.users.search(query, { limit: 20 }))
    return users.filter((user) => user.id !== this.store.state.me?.id)
  }

  /** Opens (or finds) the private chat with a user; answers its id. */
  async openPrivateChat(userId: number): Promise<number> {
    const { chat } = await this.authed(() => this.rest.chats.open(userId))
    this.store.set((state) => withChatPeople(withChats(state, [chat]), [chat]))
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
      this.store.set((state) => withChatPeople(withChats(state, [chat]), [chat]))
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

  /**
   * Sends files as media messages, each shown at once with its upload progress: the images and videos
   * as one album (at most 10 a message), every other file as a message of its own. The caption and the
   * reply go with the first message.
   */
  sendFiles(chatId: number, files: readonly File[], caption: string, replyTo: Message | null = null) {
    const visual = files.filter((file) => /^(image|video)\//.test(file.type))
    const groups: { type: Upload['messageType']; files: File[] }[] = []
    for (let start = 0; start < visual.length; start += 10) {
      const album = visual.slice(start, start + 10)
      groups.push({
        type: album.some((file) => file.type.startsWith('image/')) ? 'image' : 'video',
        files: album,
      })
    }
    for (const file of files) {
      if (visual.includes(file)) continue
      groups.push({ type: file.type.startsWith('audio/') ? 'audio' : 'document', files: [file] })
    }
    groups.forEach((group, index) => {
      const upload: Upload = {
        clientMsgId: crypto.randomUUID(),
        chatId,
        messageType: group.type,
        files: group.files,
        previews: group.files.map((file) =>
          /^(image|video)\//.test(file.type) ? URL.createObjectURL(file) : null,
        ),
        caption: index === 0 ? caption : '',
        createdAt: new Date().toISOString(),
        replyTo: index === 0 && replyTo ? quoteOf(replyTo) : null,
        progress: 0,
        state: 'uploading',
        error: null,
      }
      this.store.set((state) => ({ ...state, uploads: [...state.uploads, upload] }))
      void this.upload(upload)
    })
    void this.jumpToLatest(chatId).catch(() => {})
  }

  /** Sends a failed media message again, with the same client_msg_id (the server keeps one message). */
  retryUpload(clientMsgId: string) {
    const upload = this.store.state.uploads.find((item) => item.clientMsgId === clientMsgId)
    if (upload?.state !== 'failed') return
    void this.upload(upload)
  }

  /** Stops an upload under way, or drops a failed one: either way it is gone from the conversation. */
  removeUpload(clientMsgId: string) {
    this.uploadCancels.get(clientMsgId)?.()
    const upload = this.store.state.uploads.find((item) => item.clientMsgId === clientMsgId)
    for (const preview of upload?.previews ?? []) if (preview) URL.revokeObjectURL(preview)
    this.store.set((state) => ({
      ...state,
      uploads: state.uploads.filter((item) => item.clientMsgId !== clientMsgId),
    }))
  }

  private setUpload(clientMsgId: string, change: Partial<Upload>) {
    this.store.set((state) => ({
      ...state,
      uploads: state.uploads.map((item) =>
        item.clientMsgId === clientMsgId ? { ...item, ...change } : item,
      ),
    }))
  }

  private async upload(upload: Upload) {
    const id = upload.clientMsgId
    this.setUpload(id, { state: 'uploading', progress: 0, error: null })
    const fields: Record<string, string> = { message_type: upload.messageType, client_msg_id: id }
    if (upload.caption.trim()) fields.caption = upload.caption.trim()
    if (upload.replyTo) fields.reply_to_message_id = String(upload.replyTo.id)
    const attempt = async (force: boolean) => {
      const tokens = await this.freshTokens(force)
      const handle = sendMultipart({
        url: `${this.origin}/api/chats/${upload.chatId}/messages`,
        token: tokens?.access_token ?? '',
        fields,
        files: upload.files,
        onProgress: (progress) => this.setUpload(id, { progress }),
      })
      this.uploadCancels.set(id, handle.cancel)
      return handle.done
    }
    try {
      let message: Message
      try {
        message = await attempt(false)
      } catch (error) {
        if (!(error instanceof UploadFailed) || error.detail.status !== 401) throw error
        message = await attempt(true)
      }
      for (const preview of upload.previews) if (preview) URL.revokeObjectURL(preview)
      this.store.set((state) => withMessages(state, upload.chatId, [message]))
    } catch (error) {
      if (error instanceof UploadCancelled) return
      const detail =
        error instanceof UploadFailed
          ? error.detail
          : { status: 0, code: 'network_error', message: String(error) }
      this.setUpload(id, { state: 'failed', error: detail })
    } finally {
      this.uploadCancels.delete(id)
    }
  }

  /**
   * Sets the HttpOnly media cookie from the current access token, so `<img src="/api/media/…">` loads
   * without headers. Asked again after every refresh (the cookie holds the token).
   */
  private async mediaCookie(accessToken: string) {
    try {
      await fetch(`${this.origin}/api/media/cookie`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}` },
        credentials: 'same-origin',
      })
    } catch {
      // Without it media shows as broken images until the next refresh sets it again.
    }
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

  // ── resilience: the outbox survives reloads ────────────────────────────────────────────────────

  /**
   * Puts back the sends a previous page left unanswered and sends them again with their own
   * client_msg_id (the server answers a resend with the message it already has), then saves the
   * outbox whenever it changes. A send that the server already answered is dropped as soon as its
   * message arrives (history, live update or reply): withMessages matches it by client_msg_id.
   */
  private resumeOutbox(userId: number) {
    const saved = this.outboxStorage.load(userId)
    if (saved.length > 0) {
      this.store.set((state) => {
        const known = new Set(state.outgoing.map((entry) => entry.clientMsgId))
        const added = saved.filter((entry) => !known.has(entry.clientMsgId))
        return added.length > 0 ? { ...state, outgoing: [...state.outgoing, ...added] } : state
      })
      for (const entry of this.store.state.outgoing) if (entry.state === 'pending') this.deliver(entry)
    }
    let last = this.store.state.outgoing
    this.outboxStorage.save(userId, last)
    this.stopPersisting?.()
    this.stopPersisting = this.store.subscribe(() => {
      const outgoing = this.store.state.outgoing
      if (outgoing === last) return
      last = outgoing
      this.outboxStorage.save(userId, outgoing)
    })
  }

  // ── chat settings, groups, people ──────────────────────────────────────────────────────────

  /** Mutes (until a time, or null to unmute), pins or archives a chat for me. */
  async chatSettings(chatId: number, body: ChatSettingsBody) {
    const { chat } = await this.authed(() => this.rest.chats.settings(chatId, body))
    this.store.set((state) => {
      const known = state.chats[chatId]
      if (!known) return withChats(state, [chat])
      const { muted_until, pinned, archived } = chat
      return { ...state, chats: { ...state.chats, [chatId]: { ...known, muted_until, pinned, archived } } }
    })
  }

  /** Creates a group with me as its admin; answers its chat id and who could not be added. */
  async createGroup(name: string, userIds: number[]) {
    const answer = await this.authed(() => this.rest.groups.create({ name, participants: userIds }))
    await this.refreshChat(answer.group.id)
    return { chatId: answer.group.id, notAdded: answer.not_added }
  }

  /** Loads a group's info and members (also after a change, to see it as the server has it). */
  async loadGroup(chatId: number): Promise<GroupInfo> {
    const { group } = await this.authed(() => this.rest.groups.get(chatId))
    this.store.set((state) => withGroupInfo(state, group))
    return group
  }

  async renameGroup(chatId: number, name: string, description: string | null) {
    await this.authed(() => this.rest.groups.update(chatId, { name, description }))
    await this.loadGroup(chatId)
  }

  async addMembers(chatId: number, userIds: number[]) {
    const answer = await this.authed(() => this.rest.groups.addMembers(chatId, userIds))
    await this.loadGroup(chatId)
    return answer.not_added
  }

  async removeMember(chatId: number, userId: number) {
    await this.authed(() => this.rest.groups.removeMember(chatId, userId))
    await this.loadGroup(chatId)
  }

  async setAdmin(chatId: number, userId: number, admin: boolean) {
    await this.authed(() =>
      admin ? this.rest.groups.promote(chatId, userId) : this.rest.groups.demote(chatId, userId),
    )
    await this.loadGroup(chatId)
  }

  async leaveGroup(chatId: number) {
    await this.authed(() => this.rest.groups.leave(chatId))
    this.store.set((state) => withoutChat(state, chatId))
  }

  /** A user as I may see them (presence and about follow their privacy). */
  async user(userId: number): Promise<PublicUser> {
    const { user } = await this.authed(() => this.rest.users.get(userId))
    this.store.set((state) =>
      withPresence(withPeople(state, [user]), user.id, {
        online: user.is_online,
        lastSeenAt: user.last_seen_at,
      }),
    )
    return user
  }

  private readonly peopleAsked = new Set<number>()

  /** Looks up, once each, people named by id whom no member list or message told us about. */
  async resolvePeople(userIds: readonly number[]) {
    const asked = userIds.filter((id) => !this.peopleAsked.has(id))
    for (const id of asked) this.peopleAsked.add(id)
    await Promise.all(
      asked.map((id) =>
        this.authed(() => this.rest.users.get(id)).then(
          ({ user }) => this.store.set((state) => withPeople(state, [user])),
          () => {
            // Gone, or hidden from me: the message keeps saying "Someone".
          },
        ),
      ),
    )
  }

  /** Full-text search over my messages; snippets mark hits with << >>. */
  async searchMessages(query: string): Promise<SearchResult[]> {
    const { results } = await this.authed(() => this.rest.search(query, { limit: 20 }))
    this.store.set((state) =>
      withPeople(
        state,
        results.flatMap((result) => (result.message.sender ? [result.message.sender] : [])),
      ),
    )
    return results
  }

  // ── settings: profile, privacy, devices, contacts ────────────────────────────────────────────

  async updateProfile(body: UpdateProfileBody) {
    const { user } = await this.authed(() => this.rest.users.updateProfile(body))
    this.store.set((state) => ({ ...state, me: user }))
  }

  /** Sets my profile photo (a file) or removes it (null); the server resizes and checks it. */
  async setAvatar(file: File | null) {
    const avatarUrl = await this.authed(async () => {
      const token = this.rest.accessToken ?? ''
      const init: RequestInit = {
        method: file ? 'POST' : 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      }
      if (file) {
        const form = new FormData()
        form.append('avatar', file, file.name)
        init.body = form
      }
      const response = await fetch(`${this.origin}/api/user/avatar`, init)
      const body: unknown = await response.json().catch(() => null)
      if (!response.ok) {
        const error =
          typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object'
            ? (body.error as { code?: string; message?: string })
            : {}
        throw new ApiRequestError(
          response.status,
          (error.code ?? 'internal_error') as ApiRequestError['code'],
          error.message ?? `HTTP ${response.status}`,
        )
      }
      return typeof body === 'object' &&
        body !== null &&
        'avatar_url' in body &&
        typeof body.avatar_url === 'string'
        ? body.avatar_url
        : null
    })
    this.store.set((state) => (state.me ? { ...state, me: { ...state.me, avatar_url: avatarUrl } } : state))
  }

  async updatePrivacy(body: UpdatePrivacyBody): Promise<PrivacySettings> {
    const { privacy_settings } = await this.authed(() => this.rest.users.updatePrivacy(body))
    this.store.set((state) => (state.me ? { ...state, me: { ...state.me, privacy_settings } } : state))
    return privacy_settings
  }

  async sessions(): Promise<Session[]> {
    return (await this.authed(() => this.rest.auth.sessions())).sessions
  }

  async revokeSession(id: string) {
    await this.authed(() => this.rest.auth.revokeSession(id))
  }

  /** Signs out every other device (one revoke per session: the API has no "all others" call). */
  async revokeOtherSessions() {
    const sessions = await this.sessions()
    for (const session of sessions) if (!session.current) await this.revokeSession(session.id)
  }

  async contacts(): Promise<Contact[]> {
    return (await this.authed(() => this.rest.contacts.list())).contacts
  }

  async addContactByPhone(phoneNumber: string, name: string): Promise<Contact> {
    const { contact } = await this.authed(() =>
      this.rest.contacts.add({ phone_number: phoneNumber, contact_name: name }),
    )
    return contact
  }

  /** Asks someone, by username, to become mutual contacts. */
  async requestContact(username: string): Promise<ContactRequest> {
    const { request } = await this.authed(() => this.rest.contacts.sendRequest({ username }))
    return request
  }

  async contactRequests() {
    return this.authed(() => this.rest.contacts.requests())
  }

  async answerContactRequest(id: number, accept: boolean) {
    await this.authed(() =>
      accept ? this.rest.contacts.acceptRequest(id) : this.rest.contacts.rejectRequest(id),
    )
  }

  async setBlocked(userId: number, blocked: boolean) {
    await this.authed(() => (blocked ? this.rest.contacts.block(userId) : this.rest.contacts.unblock(userId)))
  }

  /** Fetches a chat again (after a membership change, or one I was just added to). */
  private async refreshChat(chatId: number) {
    try {
      const { chat } = await this.authed(() => this.rest.chats.get(chatId))
      this.store.set((state) => withChatPeople(withChats(state, [chat]), [chat]))
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) {
        this.store.set((state) => withoutChat(state, chatId))
      } else throw error
    }
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
    const tokens = await this.freshTokens(false)
    if (tokens) await this.mediaCookie(tokens.access_token)
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
    this.resumeOutbox(me.id)
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
      const before = this.store.state.chats
      this.store.set((state) =>
        applyShellUpdate(applyUpdate(state, update, { visibleChatId: this.visibleChatId }), update),
      )
      if (update.type === 'message:new') {
        const chatId = update.data.chat_id
        if (!this.store.state.chats[chatId]) void this.loadChat(chatId)
        else if (chatId === this.visibleChatId && update.data.message.sender_id !== me.id) {
          void this.markRead(chatId)
        }
        const chat = this.store.state.chats[chatId]
        const message = update.data.message
        const fresh = (before[chatId]?.last_message?.seq ?? 0) < message.seq
        if (chat && fresh && message.sender_id !== me.id && message.message_type !== 'system') {
          if (document.visibilityState === 'hidden' && !isMuted(chat)) this.notify?.(chat, message)
        }
      } else if (update.type === 'chat:created') {
        void this.loadChat(update.data.chat.id)
      } else if (update.type === 'chat:member_added') {
        const chatId = update.data.chat_id
        if (update.data.user_ids.includes(me.id)) void this.refreshChat(chatId)
        else if (this.store.state.groups[chatId]) void this.loadGroup(chatId).catch(() => {})
        else void this.refreshChat(chatId)
      }
    })
    socket.on('resync', () => {
      this.store.set((state) => ({ ...state, conversations: {} }))
      void this.loadChats()
    })
    socket.onEvent('typing:start', ({ chat_id, user_id }) => this.setTyping(chat_id, user_id, true))
    socket.onEvent('typing:stop', ({ chat_id, user_id }) => this.setTyping(chat_id, user_id, false))
    socket.onEvent('presence:online', ({ user_id }) =>
      this.store.set((state) =>
        withPresence(state, user_id, {
          online: true,
          lastSeenAt: state.presence[user_id]?.lastSeenAt ?? null,
        }),
      ),
    )
    socket.onEvent('presence:offline', ({ user_id, last_seen_at }) =>
      this.store.set((state) => withPresence(state, user_id, { online: false, lastSeenAt: last_seen_at })),
    )
    this.typingTimer = setInterval(() => this.lapseTyping(), 1_000)
    setConnection()
    void socket.connect(() => `${this.origin.replace(/^http/, 'ws')}/ws`)
    await this.loadChats()
  }

  private stop() {
    this.signingOut = false
    this.stopPersisting?.()
    this.stopPersisting = null
    this.socket?.close()
    this.socket = null
    if (this.typingTimer) clearInterval(this.typingTimer)
    this.typingTimer = null
    for (const cancel of this.uploadCancels.values()) cancel()
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
    if (this.signingOut) return Promise.reject(new ApiRequestError(401, 'unauthorized', 'signing out'))
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
        await this.mediaCookie(next.access_token)
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
    thumbnail_url: message.thumbnail_url,
    deleted: message.deleted,
  }
}
