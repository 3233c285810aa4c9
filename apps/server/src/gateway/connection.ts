import crypto from 'node:crypto'
import {
  type AccessClaims,
  CLOSE_CODES,
  type CloseReason,
  loneSurrogatePath,
  nulBytePath,
} from '@parley/protocol'
import type { ValidateFunction } from 'ajv'
import type { WebSocket } from 'ws'
import { sessionTopic } from '../actions/sessions.ts'
import type { Auth } from '../auth/session-auth.ts'
import type { Deps } from '../deps.ts'
import { type ApiError, errors } from '../errors.ts'
import { infrastructureError } from '../infrastructure-errors.ts'
import { clientNetwork } from '../limits/client-network.ts'
import { enforceLimit, userLimitKey } from '../limits/enforce.ts'
import type { Ephemeral } from '../realtime/ephemeral.ts'
import { eventsTopic } from '../realtime/ephemeral.ts'
import { userTopic } from '../realtime/publish.ts'
import { encodeReplyError, encodeReplyOk, PONG } from '../realtime/wire.ts'
import { validationDetails } from '../validation.ts'
import type { AckBatcher } from './ack-batcher.ts'
import { Delivery, type DeliveryHost } from './delivery.ts'
import { checkAck, checkHello, checkPing, checkTypingStart, checkTypingStop } from './frames.ts'
import { handshake } from './handshake.ts'
import { REQUEST_TABLE, type RequestRoute } from './requests.ts'
import type { SocketCounts } from './socket-limits.ts'

/** Counts frames the gateway refused or failed on, by reason (`parley_ws_errors_total`). */
export interface FrameErrors {
  inc(labels: { reason: string }): void
}

/** What every connection of one node shares. */
export interface ConnectionContext {
  deps: Deps
  ephemeral: Ephemeral
  acks: AckBatcher
  frameErrors: FrameErrors
  /** Pre-hello sockets per client IP on this node. */
  pendingPerIp: SocketCounts
  /** Open sockets per session on this node. */
  perSession: SocketCounts
}

type Frame = { op?: unknown; id?: unknown } & Record<string, unknown>

/** A frame's `id` when it is one a reply can carry; null otherwise. */
const usableId = (frame: Frame): string | null =>
  typeof frame.id === 'string' && frame.id.length > 0 && frame.id.length <= 64 ? frame.id : null

/** The request id of a frame's text, when it has a usable one; null otherwise. */
function requestIdOf(text: string): string | null {
  try {
    const frame: unknown = JSON.parse(text)
    return typeof frame === 'object' && frame !== null ? usableId(frame as Frame) : null
  } catch {
    return null
  }
}

/**
 * One device's socket: reads its frames and routes them. The hello goes through the handshake
 * (handshake.ts, the same token check as REST), the outbound stream through Delivery (delivery.ts),
 * request frames through the request table (requests.ts). No frame can throw out of here: a frame the
 * server cannot place closes this socket with a documented code, a frame with an id is answered.
 */
export class Connection implements DeliveryHost {
  auth: Auth | null = null
  alive = true
  private claims: AccessClaims | null = null
  private delivery: Delivery | null = null
  private unsubscribers: Array<() => Promise<void>> = []
  closed = false
  private frameWindow = { start: 0, count: 0 }
  private early: string[] | null = null
  private readonly timers: NodeJS.Timeout[] = []
  /** This socket's id in presence; `online` while it is counted there. */
  private readonly id = crypto.randomUUID()
  private online = false
  /** Ephemeral events are sent only after `ready`; before it they are dropped. */
  private ready = false
  private readonly deps: Deps
  /** The slots this socket holds in the node's counts, released when it leaves them. */
  private pendingSlot = false
  private sessionSlot: string | null = null
  /** The pre-hello cap counts per client network (an IPv6 /64), not per address. */
  private readonly network: string

  constructor(
    private readonly context: ConnectionContext,
    private readonly socket: WebSocket,
    private readonly ip: string,
  ) {
    this.deps = context.deps
    this.network = clientNetwork(ip)
    this.timers.push(
      setTimeout(() => this.close(CLOSE_CODES.helloTimeout), this.deps.config.wsHelloTimeoutMs),
    )
    socket.on('message', (data, isBinary) => this.onFrame(isBinary ? '' : data.toString()))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', () => void this.dispose())
    socket.on('error', () => void this.dispose())
    this.pendingSlot = context.pendingPerIp.take(this.network)
    if (!this.pendingSlot) this.close(CLOSE_CODES.tooManyConnections)
  }

  private releaseSlots(): void {
    if (this.pendingSlot) this.context.pendingPerIp.release(this.network)
    this.pendingSlot = false
    if (this.sessionSlot !== null) this.context.perSession.release(this.sessionSlot)
    this.sessionSlot = null
  }

  close(reason: CloseReason): void {
    if (this.closed) return
    this.closed = true
    this.socket.close(reason.code, reason.reason)
    void this.dispose()
  }

  /** The bus reconnected: read what it may have dropped from the log (Delivery.recheck). */
  recheck(): void {
    this.delivery?.recheck()
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
    this.releaseSlots()
    for (const timer of this.timers.splice(0)) clearTimeout(timer)
    if (this.online && this.auth) {
      this.online = false
      this.context.ephemeral.dropOwner(this)
      void this.context.ephemeral.disconnected(this.auth.userId, this.id)
    }
    const unsubscribers = this.unsubscribers.splice(0)
    await Promise.allSettled(unsubscribers.map((unsubscribe) => unsubscribe()))
  }

  /**
   * Every inbound frame passes here, and nothing a frame does may escape it: a refusal closes this
   * socket with its code, and an exception is logged, counted and answered (a reply when the frame
   * has a usable id, otherwise close 4007) — never thrown at the process.
   */
  private onFrame(text: string, held = false): void {
    if (this.closed) return
    this.alive = true
    let refusal: CloseReason | null
    try {
      refusal = this.handle(text, held)
      if (refusal) this.context.frameErrors.inc({ reason: refusal.reason })
    } catch (error) {
      this.deps.log.error({ err: error, user_id: this.auth?.userId }, 'gateway frame failed')
      this.context.frameErrors.inc({ reason: 'internal_error' })
      const id = this.delivery ? requestIdOf(text) : null
      if (id === null) refusal = CLOSE_CODES.internalError
      else {
        this.reply(id, errors.internal())
        refusal = null
      }
    }
    if (refusal) this.close(refusal)
  }

  /**
   * Handles one inbound frame; answers the close reason when the frame ends the connection. A frame
   * `held` behind the hello was counted against the frame rate when it arrived, and is not again.
   */
  private handle(text: string, held: boolean): CloseReason | null {
    if (!held && !this.withinRate()) return CLOSE_CODES.rateLimited
    if (this.claims && this.deps.clock.now() >= this.claims.exp * 1000) return CLOSE_CODES.tokenExpired
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return CLOSE_CODES.protocolError
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return CLOSE_CODES.protocolError
    const frame = parsed as Frame
    const delivery = this.delivery
    if (!delivery || !this.auth) {
      // Frames a client sends right behind its hello wait until the hello is through.
      if (this.early) {
        this.early.push(text)
        return null
      }
      if (!checkHello(frame)) return CLOSE_CODES.protocolError
      this.early = []
      void this.hello(frame.token, frame.since)
      return null
    }
    // As on REST: no string or key of a frame may hold a NUL byte (PostgreSQL cannot store one).
    const nul = nulBytePath(frame)
    if (nul !== null) {
      const id = usableId(frame)
      if (id === null) return CLOSE_CODES.protocolError
      this.refuse(
        id,
        errors.validation(`Invalid frame: ${nul} must not contain a NUL byte`, [
          { field: nul, message: 'must not contain a NUL byte (U+0000)' },
        ]),
      )
      return null
    }
    const unpaired = loneSurrogatePath(frame)
    if (unpaired !== null) {
      const id = usableId(frame)
      if (id === null) return CLOSE_CODES.protocolError
      this.refuse(
        id,
        errors.validation(`Invalid frame: ${unpaired} must be well-formed Unicode`, [
          { field: unpaired, message: 'must not contain an unpaired surrogate (U+D800–U+DFFF)' },
        ]),
      )
      return null
    }
    switch (frame.op) {
      case 'ack':
        return this.checked(checkAck, frame, () => delivery.ack(frame.seq as number))
      case 'ping':
        return this.checked(checkPing, frame, () => delivery.send(PONG))
      case 'typing:start':
      case 'typing:stop': {
        const userId = this.auth.userId
        const check = frame.op === 'typing:start' ? checkTypingStart : checkTypingStop
        return this.checked(check, frame, () =>
          this.context.ephemeral.typing(this, userId, frame.chat_id as number, frame.op as 'typing:start'),
        )
      }
      default:
        return this.request(frame)
    }
  }

  /** Runs `then` for a frame its schema accepts; otherwise answers (with an id) or closes 4502. */
  private checked(check: ValidateFunction, frame: Frame, then: () => void): CloseReason | null {
    const value: unknown = frame
    if (check(value)) {
      then()
      return null
    }
    const id = usableId(frame)
    if (id === null) return CLOSE_CODES.protocolError
    this.refuse(id, errors.validation(`Invalid ${String(frame.op)} frame`, validationDetails(check.errors)))
    return null
  }

  /** A request frame: looked up in the request table by own key, validated, run beside the pump. */
  private request(frame: Frame): CloseReason | null {
    const id = usableId(frame)
    if (id === null) return CLOSE_CODES.protocolError
    const route = typeof frame.op === 'string' ? REQUEST_TABLE.get(frame.op) : undefined
    if (!route) {
      // An op this server does not know, with an id to answer: refused, the socket stays open.
      this.refuse(id, errors.validation('Unknown op', [{ field: 'op', message: 'Unknown op' }]), 'unknown_op')
    } else if (!route.check(frame)) {
      this.refuse(id, errors.validation(`Invalid ${route.op} frame`, validationDetails(route.check.errors)))
    } else void this.run(route, id, frame)
    return null
  }

  private async run(route: RequestRoute, id: string, frame: Frame): Promise<void> {
    const userId = this.auth?.userId ?? 0
    try {
      // Each request frame counts against the user's one budget, shared with their REST requests.
      await enforceLimit(this.deps, userLimitKey(userId), this.deps.config.rateLimitPerUser)
      const data = await route.run(this.deps, userId, frame)
      this.delivery?.send(encodeReplyOk(id, data))
    } catch (error) {
      if (error instanceof Error && error.name === 'ApiError') return this.reply(id, error as ApiError)
      const unavailable = infrastructureError(error)
      if (unavailable) return this.refuse(id, unavailable)
      this.deps.log.error({ err: error, op: route.op, user_id: userId }, 'gateway request failed')
      this.context.frameErrors.inc({ reason: 'internal_error' })
      this.reply(id, errors.internal())
    }
  }

  private refuse(id: string, error: ApiError, reason: string = error.code): void {
    this.context.frameErrors.inc({ reason })
    this.reply(id, error)
  }

  private reply(id: string, error: ApiError): void {
    this.delivery?.send(encodeReplyError(id, error))
  }

  private withinRate(): boolean {
    const now = Date.now()
    if (now - this.frameWindow.start >= 1000) this.frameWindow = { start: now, count: 0 }
    this.frameWindow.count += 1
    return this.frameWindow.count <= this.deps.config.wsFramesPerSecond
  }

  private async hello(token: string, since: number): Promise<void> {
    for (const timer of this.timers.splice(0)) clearTimeout(timer)
    const result = await handshake(this.deps, token, this.ip)
    if (!result.ok) return this.close(result.close)
    if (this.closed) return
    // Authenticated: this socket leaves the pre-hello count and takes a slot of its session's.
    this.releaseSlots()
    if (!this.context.perSession.take(result.auth.sessionId))
      return this.close(CLOSE_CODES.tooManyConnections)
    this.sessionSlot = result.auth.sessionId
    this.auth = result.auth
    this.claims = result.claims
    const { userId, sessionId } = result.auth
    const expiresInMs = result.claims.exp * 1000 - this.deps.clock.now()
    this.timers.push(
      setTimeout(() => this.close(CLOSE_CODES.tokenExpired), Math.min(Math.max(expiresInMs, 0), 2 ** 31 - 1)),
    )
    // Counted in presence first: the count across the cluster is the per-user cap.
    this.online = true
    const sockets = await this.context.ephemeral.connected(userId, this.id)
    if (this.closed) return
    if (sockets > this.deps.config.wsMaxSocketsPerUser) return this.close(CLOSE_CODES.tooManyConnections)
    const delivery = new Delivery(this.deps, this.socket, userId, this.context.acks, this)
    // Subscribe first, read second: nothing committed in between can fall through.
    this.unsubscribers.push(
      await this.deps.bus.subscribe(userTopic(userId), (frame) => delivery.live(frame)),
      await this.deps.bus.subscribe(sessionTopic(sessionId), () => this.close(CLOSE_CODES.sessionRevoked)),
      // Ephemeral events: forwarded as they come, beside the update pump (no seq, not logged).
      await this.deps.bus.subscribe(eventsTopic(userId), (frame) => {
        if (this.ready) delivery.send(frame)
      }),
    )
    if (this.closed) return void this.dispose()
    this.delivery = delivery
    delivery.start(since, sessionId)
  }

  /** Delivery sent `ready`: ephemeral events may flow, and the frames that came right behind the hello run. */
  onReady(): void {
    this.ready = true
    const early = this.early ?? []
    this.early = null
    for (const text of early) this.onFrame(text, true)
  }
}
