import type {
  AddContactBody,
  AddMembersResponse,
  ApiErrorBody,
  AuthResponse,
  Chat,
  ChatListQuery,
  ChatListResponse,
  ChatSettingsBody,
  Contact,
  ContactRequest,
  CreateGroupBody,
  ErrorCode,
  Group,
  GroupInfoResponse,
  HistoryMessage,
  HistoryQuery,
  LoginBody,
  MemberRoleResponse,
  Message,
  NotAdded,
  OwnProfile,
  OwnProfileResponse,
  PrivacySettings,
  PublicUser,
  RefreshResponse,
  RegisterBody,
  SearchQuery,
  SearchResponse,
  SeedUsersBody,
  SeedUsersResponse,
  SendContactRequestBody,
  SendMessageBody,
  SendOtpBody,
  Session,
  SyncResponse,
  UpdateGroupBody,
  UpdatePrivacyBody,
  UpdateProfileBody,
  VerifyOtpBody,
} from '@parley/protocol'
import { UploadClient, type UploadOptions } from './uploads.ts'

/** An answer from the API that was not a success; `code` is one of the protocol's error codes. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'ApiRequestError'
  }
}

export interface RawResponse {
  status: number
  headers: Headers
  body: unknown
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | undefined>
  headers?: Record<string, string>
  /** Overrides the client's access token for this call (e.g. a refresh token). */
  token?: string | null
  /** Aborts the request. */
  signal?: AbortSignal | undefined
}

export interface RestClientOptions {
  baseUrl: string
  accessToken?: string | null
  fetch?: typeof fetch
}

/**
 * Typed REST client for the Parley API.
 *
 * @example
 * ```ts
 * const client = new RestClient({ baseUrl: 'http://localhost:3000' })
 * await client.auth.sendOtp({ phone_number: '+447700900123' })
 * const { tokens } = await client.auth.verifyOtp({ phone_number: '+447700900123', otp: '123456' })
 * const me = await client.users.profile()
 * ```
 */
export class RestClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  accessToken: string | null

  constructor(options: RestClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '')
    this.accessToken = options.accessToken ?? null
    // Bound: browsers refuse a fetch called as a method of another object ("Illegal invocation").
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  }

  /**
   * Sends a request and returns status, headers and parsed body whatever the status.
   * @example
   * ```ts
   * const { status, body } = await client.raw('GET', '/health')
   * ```
   */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = new URL(this.baseUrl + path)
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value))
    }
    const token = options.token === undefined ? this.accessToken : options.token
    const headers: Record<string, string> = { ...options.headers }
    if (token) headers.authorization = `Bearer ${token}`
    let body: string | FormData | undefined
    // Multipart (files): fetch writes the boundary into the content type itself.
    if (options.body instanceof FormData) body = options.body
    else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    }
    const response = await this.fetchImpl(url, { method, headers, body, signal: options.signal })
    const text = await response.text()
    let parsed: unknown = text
    if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0)
      parsed = JSON.parse(text)
    return { status: response.status, headers: response.headers, body: parsed }
  }

  /**
   * Sends a request and returns the body of a 2xx answer; throws ApiRequestError otherwise.
   * @example
   * ```ts
   * const health = await client.call<{ status: string }>('GET', '/health')
   * ```
   */
  async call<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { status, body } = await this.raw(method, path, options)
    if (status >= 200 && status < 300) return body as T
    const error = (body as Partial<ApiErrorBody> | undefined)?.error
    throw new ApiRequestError(
      status,
      error?.code ?? 'internal_error',
      error?.message ?? `HTTP ${status}`,
      error?.details,
    )
  }

  readonly auth = {
    /** @example `await client.auth.sendOtp({ phone_number: '+447700900123' })` */
    sendOtp: (body: SendOtpBody) =>
      this.call<{ success: true; message: string; expires_at: string }>('POST', '/api/auth/send-otp', {
        body,
      }),
    /** Signs in with a texted code and keeps the access token. @example `await client.auth.verifyOtp({ phone_number, otp })` */
    verifyOtp: async (body: VerifyOtpBody) =>
      this.keep(await this.call<AuthResponse>('POST', '/api/auth/verify-otp', { body })),
    /** @example `await client.auth.register({ username: 'ada', password: 'correct horse', name: 'Ada' })` */
    register: async (body: RegisterBody) =>
      this.keep(await this.call<AuthResponse>('POST', '/api/auth/register', { body })),
    /** @example `await client.auth.login({ username: 'ada', password: 'correct horse' })` */
    login: async (body: LoginBody) =>
      this.keep(await this.call<AuthResponse>('POST', '/api/auth/login', { body })),
    /** Rotates the refresh token; keep the new one. @example `const next = await client.auth.refresh(refreshToken)` */
    refresh: async (refreshToken: string) => {
      const answer = await this.call<RefreshResponse>('POST', '/api/auth/refresh', { token: refreshToken })
      this.accessToken = answer.access_token
      return answer
    },
    /** @example `await client.auth.logout()` */
    logout: () => this.call<{ success: true }>('POST', '/api/auth/logout'),
    /** @example `const { sessions } = await client.auth.sessions()` */
    sessions: () => this.call<{ success: true; sessions: Session[] }>('GET', '/api/auth/sessions'),
    /** @example `await client.auth.revokeSession(sessionId)` */
    revokeSession: (id: string) =>
      this.call<{ success: true }>('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`),
  }

  readonly admin = {
    /**
     * Creates up to 1,000 signed-in users per call for load tests (the server's PARLEY_ADMIN_TOKEN is
     * required; without it the route is 404). Each user's tokens work like a sign-in's; the client's
     * own access token is neither sent nor changed.
     * @example
     * ```ts
     * const { users } = await client.admin.seedUsers(adminToken, { count: 500, name_prefix: 'bench' })
     * const alice = new RestClient({ baseUrl, accessToken: users[0]?.access_token })
     * ```
     */
    seedUsers: (adminToken: string, body: SeedUsersBody) =>
      this.call<SeedUsersResponse>('POST', '/api/admin/seed/users', { body, token: adminToken }),
  }

  readonly users = {
    /** @example `const { user } = await client.users.profile()` */
    profile: () => this.call<OwnProfileResponse>('GET', '/api/user/profile'),
    /** @example `await client.users.updateProfile({ about: 'Out fishing' })` */
    updateProfile: (body: UpdateProfileBody) =>
      this.call<{ success: true; user: OwnProfile }>('PUT', '/api/user/profile', { body }),
    /** @example `await client.users.updatePrivacy({ last_seen: 'contacts' })` */
    updatePrivacy: (body: UpdatePrivacyBody) =>
      this.call<{ success: true; privacy_settings: PrivacySettings }>('PUT', '/api/user/privacy', { body }),
    /** @example `const { user } = await client.users.get(42)` */
    get: (id: number) => this.call<{ success: true; user: PublicUser }>('GET', `/api/users/${id}`),
    /**
     * Username or name prefix, or an exact phone number; pass `pagination.next_cursor` for the next page.
     * @example `const { users, pagination } = await client.users.search('ada', { limit: 20 })`
     */
    search: (q: string, options: { limit?: number; cursor?: string } = {}) =>
      this.call<{
        success: true
        users: PublicUser[]
        pagination: { next_cursor: string | null; has_more: boolean }
      }>('GET', '/api/users/search', { query: { q, ...options } }),
    /**
     * Sets your profile photo (multipart, seed 002); answers its `avatar_url`.
     * @example `const { avatar_url } = await client.users.setAvatar(file)`
     */
    setAvatar: (file: Blob, filename = 'avatar') =>
      this.call<{ success: true; avatar_url: string }>('POST', '/api/user/avatar', {
        body: formWith('avatar', file, filename),
      }),
    /** @example `await client.users.removeAvatar()` */
    removeAvatar: () => this.call<{ success: true; avatar_url: null }>('DELETE', '/api/user/avatar'),
  }

  readonly media = {
    /**
     * Uploads a File or Blob (sign → PUT or parts in parallel → complete) and answers the ready
     * attachment; rejects with the coded ApiRequestError (415, 413, 422…) or the signal's reason.
     * @example
     * ```ts
     * const attachment = await client.media.upload(file, { onProgress: ({ loaded, total }) => show(loaded / total) })
     * await client.messages.send(chatId, { message_type: 'image', attachment_ids: [attachment.id] })
     * ```
     */
    upload: (file: Blob, options: UploadOptions = {}) => this.uploadClient().upload(file, options),
    /**
     * Sends only the parts an earlier upload (cancelled, or cut off) is missing, then completes it.
     * @example `const attachment = await client.media.resumeUpload(savedId, file, { onProgress })`
     */
    resumeUpload: (attachmentId: number, file: Blob, options: UploadOptions = {}) =>
      this.uploadClient().resumeUpload(attachmentId, file, options),
    /**
     * Sets the `parley_media` cookie (browsers), so `<img src="/api/media/…">` loads without a header.
     * @example `await client.media.cookie()`
     */
    cookie: () => this.call<{ success: true }>('POST', '/api/media/cookie'),
  }

  private uploads: UploadClient | null = null
  private uploadClient(): UploadClient {
    this.uploads ??= new UploadClient({
      call: <T>(method: string, path: string, options?: RequestOptions) =>
        this.call<T>(method, path, options),
      fetchImpl: this.fetchImpl,
    })
    return this.uploads
  }

  readonly contacts = {
    /** @example `const { contacts } = await client.contacts.list()` */
    list: () => this.call<{ success: true; contacts: Contact[] }>('GET', '/api/contacts'),
    /**
     * Saves someone by phone number (201); saving them again renames them (200).
     * @example `await client.contacts.add({ phone_number: '+447700900123', contact_name: 'Ada' })`
     */
    add: (body: AddContactBody) =>
      this.call<{ success: true; contact: Contact }>('POST', '/api/contacts', { body }),
    /** @example `await client.contacts.remove(42)` */
    remove: (userId: number) => this.call<{ success: true }>('DELETE', `/api/contacts/${userId}`),
    /** @example `await client.contacts.block(42)` */
    block: (userId: number) =>
      this.call<{ success: true; is_blocked: boolean }>('PUT', `/api/contacts/${userId}/block`),
    /** @example `await client.contacts.unblock(42)` */
    unblock: (userId: number) =>
      this.call<{ success: true; is_blocked: boolean }>('PUT', `/api/contacts/${userId}/unblock`),
    /** @example `const { incoming, outgoing } = await client.contacts.requests()` */
    requests: () =>
      this.call<{ success: true; incoming: ContactRequest[]; outgoing: ContactRequest[] }>(
        'GET',
        '/api/contacts/requests',
      ),
    /**
     * Asks someone to become mutual contacts; if they already asked you, accepts theirs instead.
     * @example `await client.contacts.sendRequest({ username: 'ada' })`
     */
    sendRequest: (body: SendContactRequestBody) =>
      this.call<{ success: true; request: ContactRequest }>('POST', '/api/contacts/requests', { body }),
    /** @example `await client.contacts.acceptRequest(7)` */
    acceptRequest: (id: number) =>
      this.call<{ success: true; request: ContactRequest }>('POST', `/api/contacts/requests/${id}/accept`),
    /**
     * Declines a request sent to you, or withdraws one you sent.
     * @example `await client.contacts.rejectRequest(7)`
     */
    rejectRequest: (id: number) => this.call<{ success: true }>('DELETE', `/api/contacts/requests/${id}`),
  }

  readonly groups = {
    /**
     * Creates a group with you as its admin; its id works in every `client.chats` / `client.messages` call.
     * @example `const { group, not_added } = await client.groups.create({ name: 'Dev Team', participants: [42, 43] })`
     */
    create: (body: CreateGroupBody) =>
      this.call<{ success: true; group: Group; not_added: NotAdded[] }>('POST', '/api/groups', { body }),
    /** Group info with its members (members only). @example `const { group } = await client.groups.get(7)` */
    get: (groupId: number) => this.call<GroupInfoResponse>('GET', `/api/groups/${groupId}`),
    /** Renames the group or changes its description (admins). @example `await client.groups.update(7, { name: 'Core' })` */
    update: (groupId: number, body: UpdateGroupBody) =>
      this.call<{ success: true; group: Group }>('PUT', `/api/groups/${groupId}`, { body }),
    /**
     * Adds members (admins); users who could not be added come back in `not_added`.
     * @example `const { added_members, not_added } = await client.groups.addMembers(7, [42, 43])`
     */
    addMembers: (groupId: number, userIds: number[]) =>
      this.call<AddMembersResponse>('POST', `/api/groups/${groupId}/members`, {
        body: { user_ids: userIds },
      }),
    /** Removes a member (admins); your own id leaves. @example `await client.groups.removeMember(7, 42)` */
    removeMember: (groupId: number, userId: number) =>
      this.call<{ success: true; message?: string }>('DELETE', `/api/groups/${groupId}/members/${userId}`),
    /** @example `await client.groups.leave(7)` */
    leave: (groupId: number) =>
      this.call<{ success: true; message?: string }>('POST', `/api/groups/${groupId}/leave`),
    /** Sets the group's photo (admins; multipart). @example `const { group } = await client.groups.setAvatar(7, file)` */
    setAvatar: (groupId: number, file: Blob, filename = 'avatar') =>
      this.call<{ success: true; group: Group }>('PUT', `/api/groups/${groupId}/avatar`, {
        body: formWith('avatar', file, filename),
      }),
    /** Makes a member an admin (admins). @example `await client.groups.promote(7, 42)` */
    promote: (groupId: number, userId: number) =>
      this.call<MemberRoleResponse>('PUT', `/api/groups/${groupId}/admins/${userId}`),
    /** Makes an admin a plain member again (admins; not the only admin). @example `await client.groups.demote(7, 42)` */
    demote: (groupId: number, userId: number) =>
      this.call<MemberRoleResponse>('DELETE', `/api/groups/${groupId}/admins/${userId}`),
  }

  readonly chats = {
    /** Opens (or returns) the private chat with a user. @example `const { chat } = await client.chats.open(42)` */
    open: (userId: number) =>
      this.call<{ success: true; chat: Chat }>('POST', '/api/chats', {
        body: { type: 'private', user_id: userId },
      }),
    /** @example `const { chat } = await client.chats.get(7)` */
    get: (chatId: number) => this.call<{ success: true; chat: Chat }>('GET', `/api/chats/${chatId}`),
    /**
     * Your chats, pinned first, then by last activity; `archived: true` lists the archived ones only.
     * @example
     * ```ts
     * let page = await client.chats.list({ limit: 50 })
     * while (page.pagination.next_cursor) page = await client.chats.list({ cursor: page.pagination.next_cursor })
     * ```
     */
    list: (query: ChatListQuery = {}) =>
      this.call<ChatListResponse>('GET', '/api/chats', {
        query: {
          limit: query.limit,
          cursor: query.cursor,
          archived: query.archived === undefined ? undefined : String(query.archived),
        },
      }),
    /**
     * Mutes, pins or archives a chat for you; fields left out stay as they are.
     * @example `await client.chats.settings(7, { pinned: true, muted_until: '2030-01-01T00:00:00Z' })`
     */
    settings: (chatId: number, body: ChatSettingsBody) =>
      this.call<{ success: true; chat: Chat }>('PUT', `/api/chats/${chatId}/settings`, { body }),
  }

  /**
   * Full-text search over the messages you can see; every word of `q` must match (as a word prefix).
   * @example
   * ```ts
   * const { results } = await client.search('lunch friday', { chat_id: 7 })
   * results[0]?.snippet // "…see you at <<lunch>> on <<friday>>…"
   * ```
   */
  search(q: string, options: Omit<SearchQuery, 'q'> = {}) {
    return this.call<SearchResponse>('GET', '/api/search', { query: { q, ...options } })
  }

  readonly messages = {
    /**
     * Sends a message; retry with the same `client_msg_id` until answered — the server keeps one.
     * Without a `client_msg_id` the server assigns one, and a retry may send the message twice.
     * @example `await client.messages.send(7, { message_type: 'text', content: 'hi', client_msg_id: crypto.randomUUID() })`
     */
    send: (chatId: number, body: SendMessageBody) =>
      this.call<{ success: true; message: Message }>('POST', `/api/chats/${chatId}/messages`, { body }),
    /** A page of history, oldest first. @example `const { messages } = await client.messages.history(7, { limit: 50 })` */
    history: (chatId: number, query: HistoryQuery = {}) =>
      this.call<{
        success: true
        messages: HistoryMessage[]
        pagination: {
          has_more_before: boolean
          has_more_after: boolean
          has_more: boolean
          next_before_message_id: number | null
        }
      }>('GET', `/api/chats/${chatId}/messages`, { query: { ...query } }),
    /** @example `const { message } = await client.messages.get(123)` */
    get: (messageId: number) =>
      this.call<{ success: true; message: Message }>('GET', `/api/messages/${messageId}`),
    /** @example `await client.messages.read(7, lastMessageId)` */
    read: (chatId: number, messageId: number) =>
      this.call<{ success: true; read_at: string; read_seq: number }>('PUT', `/api/chats/${chatId}/read`, {
        body: { message_id: messageId },
      }),
    /**
     * Edits a text message you sent; members get `message:edited`.
     * @example `const { message } = await client.messages.edit(messageId, 'fixed the typo')`
     */
    edit: (messageId: number, content: string) =>
      this.call<{ success: true; message: Message }>('PUT', `/api/messages/${messageId}`, {
        body: { content },
      }),
    /**
     * Earlier versions of a message, oldest first (`edited_at`: when each was replaced).
     * @example `const { edits } = await client.messages.edits(messageId)`
     */
    edits: (messageId: number) =>
      this.call<{ success: true; edits: Array<{ content: string | null; edited_at: string }> }>(
        'GET',
        `/api/messages/${messageId}/edits`,
      ),
    /**
     * Deletes a message for yourself or, as its sender or a group admin, for everyone. Without `for`:
     * for everyone when it is your own message, for yourself otherwise.
     * @example `await client.messages.delete(messageId, { for: 'everyone' })`
     */
    delete: (messageId: number, options: { for?: 'everyone' | 'me' } = {}) =>
      this.call<{ success: true; message?: string }>('DELETE', `/api/messages/${messageId}`, {
        query: { for: options.for },
      }),
    /**
     * Sends a copy of a message into up to 20 of your chats; answers the copies in `chatIds` order.
     * @example `const { messages } = await client.messages.forward(messageId, [chatA, chatB])`
     */
    forward: (messageId: number, chatIds: number[]) =>
      this.call<{ success: true; messages: Message[] }>('POST', `/api/messages/${messageId}/forward`, {
        body: { chat_ids: chatIds },
      }),
    /**
     * Reacts with one emoji (again with the same emoji: no change); answers that emoji's count.
     * @example `const { reaction } = await client.messages.react(messageId, '👍')`
     */
    react: (messageId: number, emoji: string) =>
      this.call<{ success: true; reaction: { message_id: number; emoji: string; count: number } }>(
        'POST',
        `/api/messages/${messageId}/reactions`,
        { body: { emoji } },
      ),
    /**
     * Takes your reaction back; answers that emoji's remaining count.
     * @example `await client.messages.unreact(messageId, '👍')`
     */
    unreact: (messageId: number, emoji: string) =>
      this.call<{ success: true; reaction: { message_id: number; emoji: string; count: number } }>(
        'DELETE',
        `/api/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`,
      ),
    /**
     * Who has your message delivered and read (sender only).
     * @example `const { receipts } = await client.messages.receipts(messageId)`
     */
    receipts: (messageId: number) =>
      this.call<{
        success: true
        receipts: Array<{
          user: { id: number; name: string }
          delivered_at: string | null
          read_at: string | null
        }>
      }>('GET', `/api/messages/${messageId}/receipts`),
  }

  /**
   * Your updates after `since`; with `timeout` (seconds) it long-polls for the first one.
   * @example
   * ```ts
   * let since = 0
   * const page = await client.sync(since, { timeout: 25 })
   * if ('updates' in page) since = page.next_seq
   * ```
   */
  sync(since: number, options: { limit?: number; timeout?: number } = {}) {
    return this.call<SyncResponse>('GET', '/api/sync', { query: { since, ...options } })
  }

  private keep(answer: AuthResponse): AuthResponse {
    this.accessToken = answer.tokens.access_token
    return answer
  }
}

/** A multipart body with one file; a File keeps its own name. */
function formWith(field: string, file: Blob, filename: string): FormData {
  const form = new FormData()
  form.append(
    field,
    file,
    'name' in file && typeof file.name === 'string' && file.name ? file.name : filename,
  )
  return form
}
