import crypto from 'node:crypto'
import {
  type AccessClaims,
  CLOSE_CODES,
  type CloseReason,
  type RequestFrame,
  type SocketRequestOp,
  type SocketRequests,
  type Update,
} from '@parley/protocol'
import type { WebSocket } from 'ws'
import { chatForMember, messageForMember } from '../access/chats.ts'
import { readUpdates } from '../access/sync.ts'
import { deleteMessage, editMessage } from '../actions/message-ops.ts'
import { markRead, sendMessage } from '../actions/messages.ts'
import { addReaction, removeReaction } from '../actions/reactions.ts'
import { sessionTopic } from '../actions/sessions.ts'
import { verifyAccessToken } from '../auth/tokens.ts'
import type { Deps } from '../deps.ts'
import { ApiError, errors } from '../errors.ts'
import { authenticateToken } from '../http/plugins/authenticate.ts'
import type { Auth } from '../http/types.ts'
import { iso } from '../presenters/time.ts'
import { type Ephemeral, eventsTopic } from '../realtime/ephemeral.ts'
import { userTopic } from '../realtime/publish.ts'
import {
  encodeReady,
  encodeReplyError,
  encodeReplyOk,
  encodeResyncRequired,
  encodeUpdate,
  mayDeliver,
  PONG,
  peekUpdateSeq,
} from '../realtime/wire.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'
import type { AckBatcher } from './ack-batcher.ts'
import {
  checkAck,
  checkHello,
  checkPing,
  checkTypingStart,
  checkTypingStop,
  requestCheckers,
  validationDetails,
} from './frames.ts'

/** Counts frames the gateway refused or failed on, by reason (`parley_ws_errors_total`). */
export interface FrameErrors {
  inc(labels: { reason: string }): void
}

const CATCH_UP_PAGE = 500
const HELLO_TIMEOUT_MS = 10_000
const MAX_QUEUED_LIVE = 10_000

/** The request id of a frame's text, when it has a usable one; null otherwise. */
function requestIdOf(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null
  } catch {
    return null
  }
}

/** An ack that covers no delivery is still passed on after this many updates, to bound its later scan. */
const MAX_SKIPPED_ACK_RANGE = 1000

/**
 * One device's socket. Delivery is a single serial pump: the catch-up read is queued right after the
 * bus subscription, and every live frame is queued behind it, so the client sees each `seq` once and in
 * order; a live frame that skips a seq (the bus lost one) is filled from the database (DESIGN §3.4).
 * Requests run beside the pump and answer with `reply`.
 */
export class Connection {
  auth: Auth | null = null
  alive = true
  private claims: AccessClaims | null = null
  private lastSent = 0
  private pump: Promise<void> = Promise.resolve()
  private unsubscribers: Array<() => Promise<void>> = []
  /** The newest seq sent (or resumed past) that may deliver someone else's message. */
  private mayDeliverThrough = 0
  /** Acks up to here were passed on to the batcher (`ackPassed`) or found to deliver nothing. */
  private ackHandled = 0
  private ackPassed = 0
  private closed = false
  private frameWindow = { start: 0, count: 0 }
  private early: string[] | null = null
  private readonly timers: NodeJS.Timeout[] = []
  /** This socket's id in presence; `online` while it is counted there. */
  private readonly id = crypto.randomUUID()
  private online = false
  private corked = false
  /** Ephemeral events are sent only after `ready`; before it they are dropped. */
  private ready = false

  constructor(
    private readonly deps: Deps,
    private readonly socket: WebSocket,
    private readonly ip: string,
    private readonly ephemeral: Ephemeral,
    private readonly acks: AckBatcher,
    private readonly frameErrors: FrameErrors,
  ) {
    this.timers.push(setTimeout(() => this.close(CLOSE_CODES.helloTimeout), HELLO_TIMEOUT_MS))
    socket.on('message', (data, isBinary) => this.onFrame(isBinary ? '' : data.toString()))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', () => void this.dispose())
    socket.on('error', () => void this.dispose())
  }

  close(reason: CloseReason): void {
    if (this.closed) return
    this.closed = true
    this.socket.close(reason.code, reason.reason)
    void this.dispose()
  }

  /** Heartbeat: the gateway calls this on an interval; a peer that missed a whole interval is gone. */
  heartbeat(): void {
    if (!this.alive) {
      this.close(CLOSE_CODES.heartbeatTimeout)
      this.socket.terminate()
      return
    }
    this.alive = false
    this.socket.ping()
  }

  private async dispose(): Promise<void> {
    this.closed = true
    for (const timer of this.timers.splice(0)) clearTimeout(timer)
    if (this.online && this.auth) {
      this.online = false
      this.ephemeral.dropOwner(this)
      void this.ephemeral.disconnected(this.auth.userId, this.id)
    }
    const unsubscribers = this.unsubscribers.splice(0)
    await Promise.allSettled(unsubscribers.map((unsubscribe) => unsubscribe()))
  }

  /**
   * Every inbound frame passes here, and nothing a frame does may escape it: a refusal closes this
   * socket with its code, and an exception is logged, counted and answered (a reply when the frame
   * has a usable id, otherwise close 4007) — never thrown at the process.
   */
  private onFrame(text: string): void {
    if (this.closed) return
    this.alive = true
    let refusal: CloseReason | null
    try {
      refusal = this.handle(text)
      if (refusal) this.frameErrors.inc({ reason: refusal.reason })
    } catch (error) {
      this.deps.log.error({ err: error, user_id: this.auth?.userId }, 'gateway frame failed')
      this.frameErrors.inc({ reason: 'internal_error' })
      const id = this.auth ? requestIdOf(text) : null
      if (id === null) refusal = CLOSE_CODES.internalError
      else {
        this.reply(id, errors.internal())
        refusal = null
      }
    }
    if (refusal) this.close(refusal)
  }

  /** Handles one inbound frame; answers the close reason when the frame ends the connection. */
  private handle(text: string): CloseReason | null {
    if (!this.withinRate()) return CLOSE_CODES.rateLimited
    if (this.claims && this.deps.clock.now() >= this.claims.exp * 1000) return CLOSE_CODES.tokenExpired
    let frame: unknown
    try {
      frame = JSON.parse(text)
    } catch {
      return CLOSE_CODES.protocolError
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return CLOSE_CODES.protocolError
    const op = (frame as { op?: unknown }).op
    if (!this.auth) {
      // Frames a client sends right behind its hello wait until the hello is through.
      if (this.early) {
        this.early.push(text)
        return null
      }
      if (op !== 'hello' || !checkHello.Check(frame)) return CLOSE_CODES.protocolError
      this.early = []
      void this.hello(frame.token, frame.since)
      return null
    }
    if (checkAck.Check(frame)) this.ack(frame.seq)
    else if (checkPing.Check(frame)) this.send(PONG)
    else if (checkTypingStart.Check(frame) || checkTypingStop.Check(frame))
      this.ephemeral.typing(this, this.auth.userId, frame.chat_id, frame.op)
    else {
      const id = (frame as { id?: unknown }).id
      if (typeof id !== 'string' || id.length === 0 || id.length > 64) return CLOSE_CODES.protocolError
      const checker = typeof op === 'string' ? requestCheckers.get(op) : undefined
      if (!checker) {
        // An op this server does not know, with an id to answer: refused, the socket stays open.
        this.frameErrors.inc({ reason: 'unknown_op' })
        this.reply(id, errors.validation('Unknown op', [{ field: 'op', message: 'Unknown op' }]))
      } else if (checker.Check(frame)) void this.request(frame as RequestFrame)
      else {
        const details = validationDetails(checker, frame)
        this.frameErrors.inc({ reason: 'validation_error' })
        this.reply(id, errors.validation(`Invalid ${op} frame`, details))
      }
    }
    return null
  }

  private withinRate(): boolean {
    const now = Date.now()
    if (now - this.frameWindow.start >= 1000) this.frameWindow = { start: now, count: 0 }
    this.frameWindow.count += 1
    return this.frameWindow.count <= this.deps.config.wsFramesPerSecond
  }

  private async hello(token: string, since: number): Promise<void> {
    for (const timer of this.timers.splice(0)) clearTimeout(timer)
    try {
      this.claims = await verifyAccessToken(this.deps, token)
      this.auth = await authenticateToken(this.deps, token, this.ip)
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // The database or bus failed, not the token: the client should retry, not sign in again.
        this.deps.log.error({ err: error }, 'gateway hello failed')
        return this.close(CLOSE_CODES.serverRestart)
      }
      const code = error.code
      return this.close(
        code === 'token_expired'
          ? CLOSE_CODES.tokenExpired
          : code === 'session_revoked'
            ? CLOSE_CODES.sessionRevoked
            : CLOSE_CODES.unauthorized,
      )
    }
    if (this.closed) return
    const { userId, sessionId } = this.auth
    const expiresInMs = this.claims.exp * 1000 - this.deps.clock.now()
    this.timers.push(
      setTimeout(() => this.close(CLOSE_CODES.tokenExpired), Math.min(Math.max(expiresInMs, 0), 2 ** 31 - 1)),
    )
    // Subscribe first, read second: nothing committed in between can fall through.
    this.unsubscribers.push(
      await this.deps.bus.subscribe(userTopic(userId), (frame) => this.onLive(frame)),
      await this.deps.bus.subscribe(sessionTopic(sessionId), () => this.close(CLOSE_CODES.sessionRevoked)),
      // Ephemeral events: forwarded as they come, beside the update pump (no seq, not logged).
      await this.deps.bus.subscribe(eventsTopic(userId), (frame) => {
        if (this.ready) this.send(frame)
      }),
    )
    if (this.closed) return void this.dispose()
    this.online = true
    void this.ephemeral.connected(userId, this.id)
    this.enqueue(() => this.catchUp(since, sessionId))
  }

  private enqueue(task: () => Promise<void>): void {
    this.pump = this.pump.then(task).catch((error: unknown) => {
      this.deps.log.error({ err: error, user_id: this.auth?.userId }, 'gateway delivery failed')
      this.close(CLOSE_CODES.serverRestart)
    })
  }

  private async catchUp(since: number, sessionId: string): Promise<void> {
    const userId = this.auth?.userId ?? 0
    const newest = (await new UpdateLogRepository(this.deps.store.db).cursor(userId)).seq
    let page = await readUpdates(this.deps, userId, since, CATCH_UP_PAGE)
    if ('resync_required' in page) {
      this.send(encodeResyncRequired(page.current_seq))
      this.lastSent = page.current_seq
      this.mayDeliverThrough = page.current_seq
      this.send(encodeReady(page.current_seq, sessionId))
      this.ready = true
      this.replayEarly()
      return
    }
    this.lastSent = since
    // What came before this connection is unknown here: acks up to `since` are passed on.
    this.mayDeliverThrough = since
    // Resuming from `since` proves the device holds everything up to it (as a sync cursor does).
    if (since > 0) this.ack(since)
    this.send(encodeReady(Math.max(newest, since), sessionId))
    this.ready = true
    this.replayEarly()
    for (;;) {
      for (const update of page.updates) await this.sendRead(update)
      if (!page.has_more || this.closed) return
      const next = await readUpdates(this.deps, userId, this.lastSent, CATCH_UP_PAGE)
      if ('resync_required' in next) return this.close(CLOSE_CODES.serverRestart)
      page = next
    }
  }

  /** Frames that came right behind the hello, handled once `ready` is out. */
  private replayEarly(): void {
    const early = this.early ?? []
    this.early = null
    for (const text of early) this.onFrame(text)
  }

  /** A live frame: in sequence → send its bytes; already sent → skip; ahead → fill the gap from the log. */
  private async live(frame: string): Promise<void> {
    const seq = peekUpdateSeq(frame)
    if (!Number.isSafeInteger(seq) || seq <= this.lastSent || this.closed) return
    if (seq === this.lastSent + 1) return this.sendUpdate(seq, frame)
    while (this.lastSent < seq && !this.closed) {
      const page = await readUpdates(this.deps, this.auth?.userId ?? 0, this.lastSent, CATCH_UP_PAGE)
      if ('resync_required' in page || page.updates.length === 0) return this.close(CLOSE_CODES.serverRestart)
      for (const update of page.updates) await this.sendRead(update)
    }
  }

  /**
   * Live frames wait in the pump while a catch-up is paced; past this many the device is too far
   * behind to hold in memory and reconnects to read from the log instead.
   */
  private queuedLive = 0

  private onLive(frame: string): void {
    this.queuedLive += 1
    if (this.queuedLive > MAX_QUEUED_LIVE) {
      this.close(CLOSE_CODES.slowConsumer)
      return
    }
    this.enqueue(async () => {
      this.queuedLive -= 1
      await this.live(frame)
    })
  }

  /**
   * An update read from the log (catch-up, gap fill) is paced by the consumer: when the socket's unsent
   * bytes pass half the bound, wait until this frame is flushed instead of closing the socket.
   */
  private async sendRead(update: Update): Promise<void> {
    if (this.closed) return
    const frame = encodeUpdate(update)
    if (this.socket.bufferedAmount < this.deps.config.wsMaxBufferedBytes / 2) {
      this.sendUpdate(update.seq, frame)
      return
    }
    await new Promise<void>((resolve) => this.socket.send(frame, () => resolve()))
    this.sent(update.seq, frame)
  }

  private sendUpdate(seq: number, frame: string): void {
    this.send(frame)
    this.sent(seq, frame)
  }

  private sent(seq: number, frame: string): void {
    this.lastSent = seq
    if (mayDeliver(frame, this.auth?.userId ?? 0)) this.mayDeliverThrough = seq
  }

  private send(frame: string): void {
    if (this.closed) return
    this.cork()
    this.socket.send(frame)
    // Never let one slow device hold memory or the hub: past the bound it reconnects and resumes.
    if (this.socket.bufferedAmount > this.deps.config.wsMaxBufferedBytes) this.close(CLOSE_CODES.slowConsumer)
  }

  /**
   * Frames sent in one turn of the event loop leave in one write: a group commit answers many sends
   * at once, and one syscall per frame was the largest cost of group fan-out (profiled: ~18 % of CPU
   * in writev). `ws` has no public cork; its `_socket` is the TCP socket it writes to.
   */
  private cork(): void {
    if (this.corked) return
    const tcp = (this.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
    if (!tcp) return
    this.corked = true
    tcp.cork()
    setImmediate(() => {
      this.corked = false
      tcp.uncork()
    })
  }

  /**
   * Acks go to the node's batcher (applied together every ACK_BATCH_MS). Most acks cover only the
   * user's own echoes, ticks and reads; one whose range this socket knows holds no one else's message
   * is not passed on at all.
   */
  private ack(seq: number): void {
    const target = Math.min(seq, this.lastSent)
    if (target <= this.ackHandled || !this.auth) return
    const deliversNothing = this.mayDeliverThrough <= this.ackHandled
    this.ackHandled = target
    if (deliversNothing && target - this.ackPassed < MAX_SKIPPED_ACK_RANGE) return
    this.ackPassed = target
    this.acks.add(this.auth.userId, target)
  }

  private async request(frame: RequestFrame): Promise<void> {
    const userId = this.auth?.userId ?? 0
    try {
      this.reply(frame.id, null, await this.run(userId, frame))
    } catch (error) {
      if (error instanceof ApiError) return this.reply(frame.id, error)
      this.deps.log.error({ err: error, op: frame.op, user_id: userId }, 'gateway request failed')
      this.reply(frame.id, errors.internal())
    }
  }

  /** Runs a request through the same access checks and actions as its REST twin. */
  private async run(userId: number, frame: RequestFrame): Promise<SocketRequests[SocketRequestOp]['data']> {
    switch (frame.op) {
      case 'message:send': {
        const { op: _op, id: _id, chat_id, ...body } = frame
        const { chat } = await chatForMember(this.deps, userId, chat_id)
        return sendMessage(this.deps, { actorId: userId, chat, body })
      }
      case 'message:edit': {
        const { chat, message } = await messageForMember(this.deps, userId, frame.message_id)
        return {
          message: await editMessage(this.deps, { actorId: userId, chat, message, content: frame.content }),
        }
      }
      case 'message:delete': {
        const { chat, member, message } = await messageForMember(this.deps, userId, frame.message_id)
        await deleteMessage(this.deps, { actorId: userId, chat, member, message, scope: frame.for ?? 'me' })
        return {}
      }
      case 'message:read': {
        const { chat, member, message } = await messageForMember(this.deps, userId, frame.message_id)
        if (chat.id !== frame.chat_id) throw errors.notFound('Message')
        const { readSeq, readAt } = await markRead(this.deps, { actorId: userId, chat, member, message })
        return { read_seq: readSeq, read_at: iso(readAt) }
      }
      case 'reaction:add':
      case 'reaction:remove': {
        const { chat, message } = await messageForMember(this.deps, userId, frame.message_id)
        const react = frame.op === 'reaction:add' ? addReaction : removeReaction
        return { reaction: await react(this.deps, { actorId: userId, chat, message, emoji: frame.emoji }) }
      }
    }
  }

  private reply(id: string, error: ApiError | null, data?: SocketRequests[SocketRequestOp]['data']): void {
    if (error) this.send(encodeReplyError(id, error))
    else if (data) this.send(encodeReplyOk(id, data))
  }
}
