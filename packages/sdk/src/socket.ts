import type {
  EphemeralEvent,
  EphemeralEventData,
  EphemeralEventType,
  ErrorCode,
  Message,
  SendMessageBody,
  SocketRequestOp,
  SocketRequests,
  Update,
  UpdateData,
  UpdateType,
} from '@parley/protocol'
import { CLOSE_CODES, isTerminalClose } from '@parley/protocol/close-codes'
import { ApiRequestError } from './rest.ts'

/**
 * The part of a WebSocket this client uses. The browser's `WebSocket` and the `ws` package's both fit;
 * handler properties are declared bivariantly so that either implementation's event types are accepted.
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: Handler<unknown> | null
  onmessage: Handler<{ data: unknown }> | null
  onclose: Handler<{ code: number; reason: string }> | null
  onerror: Handler<unknown> | null
}
// A method's parameter is checked bivariantly, which lets `ws` and DOM event types both be assigned.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack']

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `import WebSocket from 'ws'` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Where the cursor survives restarts (e.g. IndexedDB, a file). `save` is called before each ack. */
export interface CursorStore {
  load(): number | Promise<number>
  save(seq: number): void
}

export interface ParleySocketOptions {
  /**
   * Answers the access token for `hello`. Called before every connection attempt; with
   * `{ refresh: true }` after the server closed with `token_expired`: refresh it then.
   */
  getToken(context: { refresh: boolean }): string | Promise<string>
  /** The WebSocket implementation; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor
  /** The last seq this device processed (0 on first start); ignored when `store` is given. */
  since?: number
  /** Loads the cursor at `connect()` and saves it before each ack. */
  store?: CursorStore
  /** Application-level ping interval in ms (default 20 000). */
  pingIntervalMs?: number
  /** A connection with no frame for this long is dropped (locally, as `heartbeat_timeout`) and reopened (default 45 000). */
  deadAfterMs?: number
  /** Acks are coalesced: sent at most this long after an update (default 50 ms)… */
  ackDelayMs?: number
  /** …or at once after this many unacknowledged updates (default 100). */
  ackEvery?: number
  /** Back-off before reconnect attempt n (from 0) is `random() * min(cap, base * 2^n)` (defaults 250 / 10 000 ms). */
  backoffBaseMs?: number
  backoffCapMs?: number
  /** Random source for the jitter (default `Math.random`). */
  random?: () => number
}

/** What the server said when it accepted the connection. */
export interface ReadyInfo {
  seq: number
  session_id: string
}

/** Typed request ops with their frame fields and reply data, derived from the protocol's schemas. */
export type { SocketRequestOp, SocketRequests }

/** Events a ParleySocket emits. */
export interface ParleySocketEvents {
  /** Each update of the user's log, exactly once, in seq order. */
  update: Update
  /** The server accepted the connection; catch-up follows. */
  ready: ReadyInfo
  /** The connection went away (a reconnect follows unless `closed` is emitted too). */
  disconnected: { code: number; reason: string }
  /** A reconnect is scheduled: `attempt` counts from 1 since the last `ready`, `delay` in ms. */
  reconnecting: { attempt: number; delay: number }
  /** Stopped for good: `close()` was called, or the server said not to reconnect (a terminal close code). */
  closed: { code: number; reason: string }
  /** The cursor could not be served: reload state over REST; the stream continues from `current_seq`. */
  resync: { current_seq: number }
  /**
   * An ephemeral event (typing, presence…): not logged, not acked. A newer server may send types this
   * SDK does not list yet; narrow on `type`.
   */
  event: EphemeralEvent
  /** A listener threw, a frame was not understood, or `getToken` failed. */
  error: Error
}
export type ParleySocketEvent = keyof ParleySocketEvents

/** The body of a send through the outbox: `client_msg_id` is generated when left out. */
export type OutboxBody = Omit<SendMessageBody, 'client_msg_id'> & { client_msg_id?: string }
/** What the socket sends: `message:send` requires a `client_msg_id`. */
type SocketSendBody = SendMessageBody & { client_msg_id: string }

/** A send waiting in the outbox for its reply. */
export interface PendingSend {
  chatId: number
  body: SocketSendBody
}

/** The connection's state: `idle` before `connect()`, `waiting` during a back-off, `closed` for good. */
export type SocketState = 'idle' | 'connecting' | 'ready' | 'waiting' | 'closed'

interface OutboxEntry extends PendingSend {
  resolve(message: Message): void
  reject(error: Error): void
  /** The id of the request frame in flight on the current connection, if any. */
  requestId: string | null
  retryTimer: ReturnType<typeof setTimeout> | null
  retries: number
}

interface PendingRequest {
  frame: Record<string, unknown>
  sent: boolean
  resolve(data: unknown): void
  reject(error: Error): void
}

/** Reply error codes worth sending again (with the same client_msg_id); every other code rejects the send. */
const RETRYABLE: ReadonlySet<string> = new Set<ErrorCode>([
  'rate_limited',
  'internal_error',
  'service_unavailable',
  'insufficient_storage',
])
/** Standard close codes that say the client itself is wrong: reconnecting would only repeat it. */
const FATAL_STANDARD_CLOSES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009, 1010])
const OPEN = 1

type Listener<K extends ParleySocketEvent> = (payload: ParleySocketEvents[K]) => void
type Frame = { op: string } & Record<string, unknown>

const unavailable = (message: string) => new ApiRequestError(0, 'service_unavailable', message)

/**
 * A client for the `/ws` gateway (docs/api/websocket.md): it keeps the device's cursor, delivers the
 * user's update log exactly once and in order, acks what it delivered, reconnects with jittered
 * exponential back-off and resumes from the cursor, and sends messages through an outbox that
 * survives reconnects.
 *
 * Ordering: an update whose seq is not `cursor + 1` is never delivered out of order. Older ones
 * (`seq <= cursor`) are dropped as duplicates; one that leaves a gap makes the client drop the
 * connection and reconnect with `since = cursor`, so the server refills the hole from its log.
 *
 * Until the server's `ready` only `hello` is sent: requests, outbox sends, acks and pings wait for it.
 * Acks are coalesced (one per `ackDelayMs`, or at once after `ackEvery` updates) and sent after the
 * cursor was saved to `store`.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws' // browsers: leave the option out
 * const socket = new ParleySocket({ WebSocket, getToken: () => rest.accessToken ?? '', since: 0 })
 * socket.onUpdate('message:new', (data) => console.log(data.chat_id, data.message.content))
 * socket.on('resync', ({ current_seq }) => reloadEverything(current_seq))
 * await socket.connect('wss://chat.example.com/ws')
 * const message = await socket.send(chatId, { message_type: 'text', content: 'hi' })
 * ```
 */
export class ParleySocket {
  private readonly options: ParleySocketOptions
  private readonly WebSocketImpl: WebSocketConstructor
  private readonly listeners: { [K in ParleySocketEvent]?: Set<Listener<K>> } = {}
  private readonly outboxEntries = new Map<string, OutboxEntry>()
  /** Request id of each outbox send in flight on this connection → its client_msg_id. */
  private readonly outboxRequests = new Map<string, string>()
  private readonly requests = new Map<string, PendingRequest>()
  /** Called before every connection attempt, so a client can move to another node. */
  private url: () => string = () => ''
  private socket: WebSocketLike | null = null
  private currentState: SocketState = 'idle'
  private seq = 0
  private lastAcked = 0
  private unacked = 0
  private attempt = 0
  private refreshToken = false
  private nextId = 1
  private lastFrameAt = 0
  private ackTimer: ReturnType<typeof setTimeout> | null = null
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private deadTimer: ReturnType<typeof setTimeout> | null = null
  private firstReady: { resolve(info: ReadyInfo): void; reject(error: Error): void } | null = null

  constructor(options: ParleySocketOptions) {
    this.options = options
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!impl) throw new TypeError('No WebSocket implementation: pass the `WebSocket` option')
    this.WebSocketImpl = impl
    this.seq = options.since ?? 0
  }

  /** The last seq delivered to listeners: pass it as `since` when you next create a socket. */
  get cursor(): number {
    return this.seq
  }

  /** @example `if (socket.state === 'ready') showOnline()` */
  get state(): SocketState {
    return this.currentState
  }

  /**
   * The sends still waiting for their reply, by client_msg_id.
   * @example `badge.textContent = String(socket.outbox.size)`
   */
  get outbox(): ReadonlyMap<string, PendingSend> {
    return this.outboxEntries
  }

  /**
   * Opens the connection (loading the cursor from `store` first) and keeps it open until `close()`.
   * Resolves at the first `ready`; rejects only if the socket is closed for good before that.
   * `url` may be a function, called before every attempt (e.g. to try another node after one failed).
   * @example `const { seq } = await socket.connect('wss://chat.example.com/ws')`
   */
  connect(url: string | (() => string)): Promise<ReadyInfo> {
    if (this.currentState !== 'idle')
      return Promise.reject(new Error(`connect() in state ${this.currentState}`))
    this.url = typeof url === 'string' ? () => url : url
    this.currentState = 'connecting'
    const ready = new Promise<ReadyInfo>((resolve, reject) => {
      this.firstReady = { resolve, reject }
    })
    // Handled here so that a caller who does not await connect() gets no unhandled rejection.
    ready.catch(() => {})
    void this.start()
    return ready
  }

  /**
   * Stops for good: closes the connection and rejects pending requests and outbox sends.
   * @example `socket.close()`
   */
  close(): void {
    this.stop(1000, 'closed by client')
  }

  /**
   * Listens to an event; answers a function that stops listening.
   * @example `const off = socket.on('ready', ({ seq }) => console.log('online at', seq))`
   */
  on<K extends ParleySocketEvent>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners[event] as Set<Listener<K>> | undefined
    if (!set) {
      set = new Set()
      ;(this.listeners as Record<K, Set<Listener<K>>>)[event] = set
    }
    set.add(listener)
    return () => this.off(event, listener)
  }

  /** @example `socket.off('update', handler)` */
  off<K extends ParleySocketEvent>(event: K, listener: Listener<K>): void {
    ;(this.listeners[event] as Set<Listener<K>> | undefined)?.delete(listener)
  }

  /**
   * Listens to one update type, with `data` narrowed to it; answers a function that stops listening.
   * @example `socket.onUpdate('message:read', (data, update) => markRead(data.chat_id, data.read_seq, update.seq))`
   */
  onUpdate<T extends UpdateType>(
    type: T,
    listener: (data: UpdateData<T>, update: Extract<Update, { type: T }>) => void,
  ): () => void {
    return this.on('update', (update) => {
      if (update.type === type) {
        const narrowed = update as Extract<Update, { type: T }>
        listener(narrowed.data as UpdateData<T>, narrowed)
      }
    })
  }

  /**
   * Listens to one ephemeral event type, with `data` narrowed to it; answers a function that stops listening.
   * @example `socket.onEvent('typing:start', ({ chat_id, user_id }) => showTyping(chat_id, user_id))`
   */
  onEvent<T extends EphemeralEventType>(
    type: T,
    listener: (data: EphemeralEventData<T>) => void,
  ): () => void {
    return this.on('event', (event) => {
      if (event.type === type) listener(event.data as EphemeralEventData<T>)
    })
  }

  /**
   * Sends one request and answers its reply's data; rejects with an ApiRequestError (status 0) carrying
   * the reply's error code, or `service_unavailable` if the connection is not open or drops first.
   * Requests made while connecting are sent once the server is ready. Not retried: use `send()` for
   * messages.
   * @example `const { message } = await socket.request('message:edit', { message_id: 42, content: 'fixed' })`
   */
  request<K extends SocketRequestOp>(
    op: K,
    fields: SocketRequests[K]['fields'],
  ): Promise<SocketRequests[K]['data']> {
    if (this.currentState !== 'ready' && this.currentState !== 'connecting') {
      return Promise.reject(unavailable(`not connected (${this.currentState})`))
    }
    return new Promise((resolve, reject) => {
      const id = this.newId()
      const pending: PendingRequest = {
        frame: { ...fields, op, id },
        sent: false,
        resolve: (data) => resolve(data as SocketRequests[K]['data']),
        reject,
      }
      this.requests.set(id, pending)
      if (this.currentState === 'ready') this.sendRequest(pending)
    })
  }

  /**
   * Sends a message through the outbox: it gets a `client_msg_id` if it has none, is sent now if the
   * connection is ready and again after every reconnect until a reply arrives (the server keeps one
   * message per client_msg_id). Resolves with the message; rejects on a reply error other than
   * rate_limited / internal_error / service_unavailable (those are retried), or when the socket closes
   * for good.
   * @example `const message = await socket.send(7, { message_type: 'text', content: 'hi' })`
   */
  send(chatId: number, body: OutboxBody): Promise<Message> {
    if (this.currentState === 'closed') return Promise.reject(unavailable('socket closed'))
    const full: SocketSendBody = { ...body, client_msg_id: body.client_msg_id ?? crypto.randomUUID() }
    const existing = this.outboxEntries.get(full.client_msg_id)
    if (existing) {
      return new Promise((resolve, reject) => {
        const { resolve: first, reject: firstReject } = existing
        existing.resolve = (message) => {
          first(message)
          resolve(message)
        }
        existing.reject = (error) => {
          firstReject(error)
          reject(error)
        }
      })
    }
    return new Promise((resolve, reject) => {
      const entry: OutboxEntry = {
        chatId,
        body: full,
        resolve,
        reject,
        requestId: null,
        retryTimer: null,
        retries: 0,
      }
      this.outboxEntries.set(full.client_msg_id, entry)
      if (this.currentState === 'ready') this.sendOutboxEntry(entry)
    })
  }

  /**
   * Tells the chat's other members that you are typing (`typing: true`) or stopped. Ephemeral: sent
   * only while the connection is ready, never queued or retried (the server stops an indicator on its
   * own after PARLEY_TYPING_TIMEOUT_MS). Answers whether the frame was written.
   * @example `composer.oninput = () => socket.typing(chatId, composer.value.length > 0)`
   */
  typing(chatId: number, typing: boolean): boolean {
    if (this.currentState !== 'ready') return false
    return this.write({ op: typing ? 'typing:start' : 'typing:stop', chat_id: chatId })
  }

  /**
   * Skips the back-off: while waiting to reconnect, tries again now (e.g. when the browser says it is
   * back online). In any other state it does nothing.
   * @example `window.addEventListener('online', () => socket.reconnectNow())`
   */
  reconnectNow(): void {
    if (this.currentState !== 'waiting') return
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.attempt = 0
    void this.open()
  }

  /**
   * Test hook: drops the connection as a network failure would (no close handshake when the
   * implementation has `terminate()`); the client then reconnects as usual.
   * @example `socket.dropConnectionForTest()`
   */
  dropConnectionForTest(): void {
    const socket = this.socket as (WebSocketLike & { terminate?: () => void }) | null
    if (!socket) return
    if (typeof socket.terminate === 'function') socket.terminate()
    else socket.close(CLOSE_CODES.serverRestart.code, 'dropped for test')
  }

  // ---- connection lifecycle ----

  private async start(): Promise<void> {
    try {
      if (this.options.store) this.seq = await this.options.store.load()
    } catch (error) {
      this.emit('error', toError(error))
    }
    this.lastAcked = this.seq
    if (this.currentState === 'connecting') await this.open()
  }

  private async open(): Promise<void> {
    this.currentState = 'connecting'
    const refresh = this.refreshToken
    let token: string
    try {
      token = await this.options.getToken({ refresh })
    } catch (error) {
      this.emit('error', toError(error))
      if (this.currentState === 'connecting') this.scheduleReconnect()
      return
    }
    if (this.currentState !== 'connecting') return
    this.refreshToken = false
    let socket: WebSocketLike
    try {
      socket = new this.WebSocketImpl(this.url())
    } catch (error) {
      this.emit('error', toError(error))
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    this.lastFrameAt = Date.now()
    this.armDeadTimer()
    socket.onopen = () => {
      if (this.socket !== socket) return
      this.lastFrameAt = Date.now()
      this.write({ op: 'hello', token, since: this.seq })
    }
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      this.lastFrameAt = Date.now()
      this.handleFrame(event.data)
    }
    socket.onclose = (event) => {
      if (this.socket !== socket) return
      this.handleClose(event.code, event.reason)
    }
    // An error is always followed by a close event, which does the work.
    socket.onerror = () => {}
  }

  /** Drops the current connection on our side (no waiting for a close handshake) and reconnects. */
  private reconnect(code: number, reason: string): void {
    const socket = this.socket
    if (socket) {
      this.detach(socket)
      try {
        const terminable = socket as WebSocketLike & { terminate?: () => void }
        if (typeof terminable.terminate === 'function') terminable.terminate()
        else socket.close(code, reason)
      } catch {
        // already closed
      }
    }
    this.handleClose(code, reason)
  }

  private handleClose(code: number, reason: string): void {
    if (this.socket) this.detach(this.socket)
    this.socket = null
    this.clearConnectionTimers()
    this.emit('disconnected', { code, reason })
    this.failRequests(unavailable(`connection closed (${code}${reason ? ` ${reason}` : ''})`))
    for (const entry of this.outboxEntries.values()) entry.requestId = null
    this.outboxRequests.clear()
    if (this.currentState === 'closed') return
    if (isTerminalClose(code) || FATAL_STANDARD_CLOSES.has(code)) {
      this.stop(code, reason)
      return
    }
    if (code === CLOSE_CODES.tokenExpired.code) this.refreshToken = true
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    const base = this.options.backoffBaseMs ?? 250
    const cap = this.options.backoffCapMs ?? 10_000
    const random = this.options.random ?? Math.random
    const delay = Math.floor(random() * Math.min(cap, base * 2 ** this.attempt))
    this.attempt = Math.min(this.attempt + 1, 30)
    this.currentState = 'waiting'
    this.emit('reconnecting', { attempt: this.attempt, delay })
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.currentState === 'waiting') void this.open()
    }, delay)
  }

  private stop(code: number, reason: string): void {
    if (this.currentState === 'closed') return
    this.currentState = 'closed'
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.clearConnectionTimers()
    const socket = this.socket
    this.socket = null
    if (socket) {
      this.detach(socket)
      try {
        socket.close(1000, 'closed by client')
      } catch {
        // already closed
      }
      this.emit('disconnected', { code, reason })
    }
    const error = new ApiRequestError(
      0,
      'service_unavailable',
      `socket closed (${code}${reason ? ` ${reason}` : ''})`,
    )
    this.failRequests(error)
    for (const entry of this.outboxEntries.values()) {
      if (entry.retryTimer) clearTimeout(entry.retryTimer)
      entry.reject(error)
    }
    this.outboxEntries.clear()
    this.firstReady?.reject(error)
    this.firstReady = null
    this.emit('closed', { code, reason })
  }

  private detach(socket: WebSocketLike): void {
    socket.onopen = null
    socket.onmessage = null
    socket.onclose = null
    socket.onerror = null
  }

  private clearConnectionTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer)
    if (this.deadTimer) clearTimeout(this.deadTimer)
    if (this.ackTimer) clearTimeout(this.ackTimer)
    this.pingTimer = this.deadTimer = this.ackTimer = null
  }

  /** Fires when nothing arrived for `deadAfterMs`; re-arms itself for the remainder otherwise. */
  private armDeadTimer(): void {
    const deadAfter = this.options.deadAfterMs ?? 45_000
    const remaining = this.lastFrameAt + deadAfter - Date.now()
    this.deadTimer = setTimeout(
      () => {
        this.deadTimer = null
        if (!this.socket) return
        if (Date.now() - this.lastFrameAt >= deadAfter) {
          const { code, reason } = CLOSE_CODES.heartbeatTimeout
          this.reconnect(code, reason)
        } else this.armDeadTimer()
      },
      Math.max(remaining, 0),
    )
  }

  // ---- frames ----

  private write(frame: Record<string, unknown>): boolean {
    const socket = this.socket
    if (!socket || socket.readyState !== OPEN) return false
    socket.send(JSON.stringify(frame))
    return true
  }

  private handleFrame(raw: unknown): void {
    let frame: Frame
    try {
      const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as ArrayBuffer | Uint8Array)
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Frame).op !== 'string') {
        throw new Error('a frame without an op')
      }
      frame = parsed as Frame
    } catch (error) {
      this.emit('error', toError(error))
      return
    }
    switch (frame.op) {
      case 'ready':
        this.handleReady({ seq: Number(frame.seq), session_id: String(frame.session_id) })
        break
      case 'update':
        this.handleUpdate(frame as unknown as Update)
        break
      case 'resync_required':
        this.handleResync(Number(frame.current_seq))
        break
      case 'reply':
        this.handleReply(frame)
        break
      case 'event':
        this.emit('event', { type: String(frame.type), data: frame.data } as EphemeralEvent)
        break
      default:
      // pong and ops this client does not know yet: the frame itself proved the peer alive.
    }
  }

  private handleReady(info: ReadyInfo): void {
    if (this.currentState !== 'connecting') return
    this.currentState = 'ready'
    this.attempt = 0
    // The gateway accepts nothing but `hello` until it is authenticated: ping only from here on.
    this.pingTimer = setInterval(() => this.write({ op: 'ping' }), this.options.pingIntervalMs ?? 20_000)
    this.emit('ready', info)
    this.firstReady?.resolve(info)
    this.firstReady = null
    if (this.currentState !== 'ready') return
    for (const pending of this.requests.values()) if (!pending.sent) this.sendRequest(pending)
    for (const entry of this.outboxEntries.values()) if (!entry.retryTimer) this.sendOutboxEntry(entry)
    if (this.seq > this.lastAcked) this.flushAck()
  }

  private handleUpdate(update: Update): void {
    if (!Number.isInteger(update.seq) || update.seq <= this.seq) return
    if (update.seq > this.seq + 1) {
      // A hole: never deliver out of order; resume from the cursor and let the server refill it.
      this.reconnect(CLOSE_CODES.serverRestart.code, `gap after ${this.seq}`)
      return
    }
    this.seq = update.seq
    this.emit('update', update)
    this.unacked++
    if (this.unacked >= (this.options.ackEvery ?? 100)) this.flushAck()
    else this.ackTimer ??= setTimeout(() => this.flushAck(), this.options.ackDelayMs ?? 50)
  }

  private handleResync(currentSeq: number): void {
    if (!Number.isInteger(currentSeq) || currentSeq < 0) return
    this.seq = currentSeq
    this.lastAcked = currentSeq
    this.saveCursor()
    this.emit('resync', { current_seq: currentSeq })
  }

  private flushAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer)
    this.ackTimer = null
    if (this.currentState !== 'ready' || this.seq <= this.lastAcked) return
    this.saveCursor()
    if (this.write({ op: 'ack', seq: this.seq })) {
      this.lastAcked = this.seq
      this.unacked = 0
    }
  }

  private saveCursor(): void {
    try {
      this.options.store?.save(this.seq)
    } catch (error) {
      this.emit('error', toError(error))
    }
  }

  // ---- requests and the outbox ----

  private newId(): string {
    return `r${this.nextId++}`
  }

  private sendRequest(pending: PendingRequest): void {
    pending.sent = this.write(pending.frame)
  }

  private sendOutboxEntry(entry: OutboxEntry): void {
    const id = this.newId()
    if (this.write({ ...entry.body, op: 'message:send', id, chat_id: entry.chatId })) {
      entry.requestId = id
      this.outboxRequests.set(id, entry.body.client_msg_id)
    }
  }

  private handleReply(frame: Frame): void {
    const id = String(frame.id)
    const error = frame.ok
      ? null
      : ((frame.error ?? {}) as { code?: ErrorCode; message?: string; details?: unknown })
    const pending = this.requests.get(id)
    if (pending) {
      this.requests.delete(id)
      if (error) pending.reject(toApiError(error))
      else pending.resolve(frame.data)
      return
    }
    const clientMsgId = this.outboxRequests.get(id)
    const entry = clientMsgId === undefined ? undefined : this.outboxEntries.get(clientMsgId)
    this.outboxRequests.delete(id)
    if (clientMsgId !== undefined && entry?.requestId === id) {
      entry.requestId = null
      if (!error) {
        this.outboxEntries.delete(clientMsgId)
        entry.resolve((frame.data as { message: Message }).message)
      } else if (RETRYABLE.has(error.code ?? '')) {
        const random = this.options.random ?? Math.random
        const delay = random() * Math.min(this.options.backoffCapMs ?? 10_000, 250 * 2 ** entry.retries++)
        entry.retryTimer = setTimeout(() => {
          entry.retryTimer = null
          if (this.currentState === 'ready' && this.outboxEntries.get(clientMsgId) === entry) {
            this.sendOutboxEntry(entry)
          }
        }, delay)
      } else {
        this.outboxEntries.delete(clientMsgId)
        entry.reject(toApiError(error))
      }
    }
  }

  private failRequests(error: Error): void {
    const pending = [...this.requests.values()]
    this.requests.clear()
    for (const request of pending) request.reject(error)
  }

  private emit<K extends ParleySocketEvent>(event: K, payload: ParleySocketEvents[K]): void {
    const set = this.listeners[event] as Set<Listener<K>> | undefined
    if (!set) return
    for (const listener of [...set]) {
      try {
        listener(payload)
      } catch (error) {
        if (event === 'error') continue
        this.emit('error', toError(error))
      }
    }
  }
}

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

const toApiError = (error: { code?: ErrorCode; message?: string; details?: unknown }) =>
  new ApiRequestError(0, error.code ?? 'internal_error', error.message ?? 'request failed', error.details)
