import type {
  AddContactBody,
  ApiErrorBody,
  AuthResponse,
  Chat,
  Contact,
  ContactRequest,
  ErrorCode,
  HistoryQuery,
  LoginBody,
  Message,
  OwnProfile,
  PrivacySettings,
  PublicUser,
  RefreshResponse,
  RegisterBody,
  SendContactRequestBody,
  SendMessageBody,
  SendOtpBody,
  Session,
  SyncResponse,
  UpdatePrivacyBody,
  UpdateProfileBody,
  VerifyOtpBody,
} from '@parley/protocol'

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
    this.fetchImpl = options.fetch ?? fetch
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
    let body: string | undefined
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    }
    const response = await this.fetchImpl(url, { method, headers, body })
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

  readonly users = {
    /** @example `const { user } = await client.users.profile()` */
    profile: () => this.call<{ success: true; user: OwnProfile }>('GET', '/api/user/profile'),
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

  readonly chats = {
    /** Opens (or returns) the private chat with a user. @example `const { chat } = await client.chats.open(42)` */
    open: (userId: number) =>
      this.call<{ success: true; chat: Chat }>('POST', '/api/chats', {
        body: { type: 'private', user_id: userId },
      }),
    /** @example `const { chat } = await client.chats.get(7)` */
    get: (chatId: number) => this.call<{ success: true; chat: Chat }>('GET', `/api/chats/${chatId}`),
  }

  readonly messages = {
    /**
     * Sends a message; retry with the same `client_msg_id` until answered — the server keeps one.
     * @example `await client.messages.send(7, { message_type: 'text', content: 'hi', client_msg_id: crypto.randomUUID() })`
     */
    send: (chatId: number, body: SendMessageBody) =>
      this.call<{ success: true; message: Message }>('POST', `/api/chats/${chatId}/messages`, { body }),
    /** A page of history, oldest first. @example `const { messages } = await client.messages.history(7, { limit: 50 })` */
    history: (chatId: number, query: HistoryQuery = {}) =>
      this.call<{
        success: true
        messages: Message[]
        pagination: {
          has_more_before: boolean
          has_more_after: boolean
          has_more: boolean
          next_before_message_id: number | null
        }
      }>('GET', `/api/chats/${chatId}/messages`, { query: { ...query } }),
    /** @example `await client.messages.read(7, lastMessageId)` */
    read: (chatId: number, messageId: number) =>
      this.call<{ success: true; read_at: string; read_seq: number }>('PUT', `/api/chats/${chatId}/read`, {
        body: { message_id: messageId },
      }),
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
