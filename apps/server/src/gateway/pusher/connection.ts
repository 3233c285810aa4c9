import crypto from 'node:crypto'
import type { EphemeralEvent, Update } from '@parley/protocol'
import type { WebSocket } from 'ws'
import {
  authorizeChannel,
  type BroadcastChannel,
  messageIdAtSeq,
  parseChannel,
  sessionIsLive,
  userBrief,
} from '../../access/broadcasting.ts'
import { sessionTopic } from '../../actions/sessions.ts'
import { verifyChannel } from '../../auth/pusher-signature.ts'
import type { Deps } from '../../deps.ts'
import { ApiError } from '../../errors.ts'
import type { ChannelMember } from '../../realtime/channel-members.ts'
import { eventsTopic } from '../../realtime/ephemeral.ts'
import { userTopic } from '../../realtime/publish.ts'
import type { ConnectionContext } from '../connection.ts'
import {
  CLIENT_EVENT_RATE_LIMITED,
  CLIENT_EVENTS_PER_SECOND,
  encodeError,
  encodePusher,
  encodeSubscriptionError,
  PUSHER_CLOSE,
  PUSHER_PONG,
  type PusherClose,
} from './protocol.ts'
import { type Lookups, type PusherEvent, translateEvent, translateUpdate } from './translate.ts'

/** What the Pusher face shares with `/ws` on one node, plus its signing key. */
export interface PusherContext extends ConnectionContext {
  appKey: string
  signingKey: Buffer
}

/** Presence member events travel between nodes on this bus topic, one per presence channel. */
export const channelTopic = (channel: string) => `channel:${channel}`

/**
 * The bus carries frames this server built (realtime/wire.ts): `{"op":"update"|"event","type","data"}`.
 * They are trusted; only their envelope is checked.
 */
function framePayload<T>(frame: string, op: 'update' | 'event'): T | null {
  const value: unknown = JSON.parse(frame)
  if (typeof value !== 'object' || value === null) return null
  const { op: found, ...rest } = value as { op?: unknown; type?: unknown; data?: unknown }
  return found === op && typeof rest.type === 'string' && typeof rest.data === 'object' ? (rest as T) : null
}

/** What `POST /broadcasting/auth` signs into `channel_data`: who the subscriber is, and their session. */
interface ChannelData {
  user_id: number
  session_id: string
  user_info?: unknown
}

function parseChannelData(text: unknown): ChannelData | null {
  if (typeof text !== 'string') return null
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return null
    const data = value as Record<string, unknown>
    if (!Number.isSafeInteger(data.user_id) || typeof data.session_id !== 'string') return null
    return { user_id: data.user_id as number, session_id: data.session_id, user_info: data.user_info }
  } catch {
    return null
  }
}

type Incoming = { event: string; channel?: unknown; data?: unknown }
/** Client → server `data` is an object in protocol 7; some clients send it JSON-encoded. */
function dataObject(data: unknown): Record<string, unknown> {
  if (typeof data === 'string') {
    try {
      const parsed: unknown = JSON.parse(data)
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
    } catch {
      return {}
    }
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {}
}

/** A Pusher socket id: two random decimal parts, as Pusher writes them (`"1234.5678"`). */
const newSocketId = () => `${crypto.randomInt(1, 2 ** 47)}.${crypto.randomInt(1, 2 ** 47)}`

/**
 * One pusher-js / Laravel Echo socket on `/app/{key}`: the second face of the gateway. A Pusher
 * connection is anonymous until its first private subscription, whose signed `channel_data` (made by
 * `POST /broadcasting/auth` for a bearer token) binds it to one user and session; from then on it is
 * that user's device exactly like a `/ws` socket: counted in presence and the socket caps, subscribed
 * to the user's `user:`, `events:` and `session:` bus topics, and fed by the same frames, translated to
 * seed 002's events on the channels it subscribed to. Nothing a frame does may throw out of here.
 */
export class PusherConnection {
  readonly socketId = newSocketId()
  alive = true
  closed = false
  /** This socket's id in presence and in presence-channel rosters. */
  private readonly id = crypto.randomUUID()
  private user: { userId: number; sessionId: string } | null = null
  private readonly deps: Deps
  /** Channels whose `subscription_succeeded` was sent. */
  private readonly channels = new Map<string, BroadcastChannel>()
  /** Presence channels this socket joined (the member it joined as), and their bus subscriptions. */
  private readonly presence = new Map<string, { member: ChannelMember; unsubscribe: () => Promise<void> }>()
  /** Member events that arrived while a presence subscription was being answered. */
  private readonly heldMemberEvents = new Map<string, string[]>()
  private readonly unsubscribers: Array<() => Promise<void>> = []
  private chain: Promise<void> = Promise.resolve()
  private frameWindow = { start: 0, count: 0 }
  private clientEventWindow = { start: 0, count: 0 }
  private readonly names = new Map<number, string | null>()
  private online = false
  private pendingSlot = false
  private sessionSlot: string | null = null
  private readonly lookups: Lookups

  constructor(
    private readonly context: PusherContext,
    private readonly socket: WebSocket,
    private readonly ip: string,
  ) {
    this.deps = context.deps
    this.lookups = {
      userName: (userId) => this.userName(userId),
      messageIdAtSeq: (chatId, seq) => messageIdAtSeq(this.deps, chatId, seq),
      subscribed: (channel) => this.channels.has(channel),
    }
    socket.on('message', (data, isBinary) => this.onFrame(isBinary ? '' : data.toString()))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', () => void this.dispose())
    socket.on('error', () => void this.dispose())
    this.pendingSlot = context.pendingPerIp.take(ip)
  }

  /** Answers the handshake: `pusher:connection_established`, or the error and close code for `refusal`. */
  open(refusal: PusherClose | null): void {
    if (!refusal && !this.pendingSlot) refusal = PUSHER_CLOSE.overCapacity
    if (refusal) {
      this.close(refusal)
      return
    }
    const activityTimeout = Math.min(120, Math.max(1, Math.floor(this.deps.config.wsHeartbeatMs / 1000)))
    this.send(
      encodePusher('pusher:connection_established', {
        socket_id: this.socketId,
        activity_timeout: activityTimeout,
      }),
    )
  }

  close(reason: PusherClose): void {
    if (this.closed) return
    this.send(encodeError(reason.code, reason.message))
    this.closed = true
    this.socket.close(reason.code, reason.message)
    void this.dispose()
  }

  heartbeat(): void {
    if (!this.alive) {
      this.close(PUSHER_CLOSE.pongNotReceived)
      this.socket.terminate()
      return
    }
    this.alive = false
    this.socket.ping()
  }

  private send(frame: string): void {
    if (this.closed) return
    this.socket.send(frame)
    if (this.socket.bufferedAmount > this.deps.config.wsMaxBufferedBytes)
      this.close(PUSHER_CLOSE.overCapacity)
  }

  private emit(events: readonly PusherEvent[]): void {
    for (const { channel, event, data } of events) {
      if (this.channels.has(channel)) this.send(encodePusher(event, data, channel))
    }
  }

  /** Serial work of this socket: subscriptions and translations keep their order. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((error: unknown) => {
      this.deps.log.error({ err: error, user_id: this.user?.userId }, 'pusher connection task failed')
      this.context.frameErrors.inc({ reason: 'internal_error' })
    })
  }

  private async dispose(): Promise<void> {
    this.closed = true
    if (this.pendingSlot) this.context.pendingPerIp.release(this.ip)
    this.pendingSlot = false
    if (this.sessionSlot !== null) this.context.perSession.release(this.sessionSlot)
    this.sessionSlot = null
    this.channels.clear()
    for (const channel of [...this.presence.keys()]) await this.leavePresence(channel).catch(() => {})
    if (this.online && this.user) {
      this.online = false
      this.context.ephemeral.dropOwner(this)
      void this.context.ephemeral.disconnected(this.user.userId, this.id)
    }
    const unsubscribers = this.unsubscribers.splice(0)
    await Promise.allSettled(unsubscribers.map((unsubscribe) => unsubscribe()))
  }

  private onFrame(text: string): void {
    if (this.closed) return
    this.alive = true
    try {
      this.handle(text)
    } catch (error) {
      this.deps.log.error({ err: error, user_id: this.user?.userId }, 'pusher frame failed')
      this.context.frameErrors.inc({ reason: 'internal_error' })
      this.send(encodeError(null, 'Internal error'))
    }
  }

  private handle(text: string): void {
    if (!this.within(this.frameWindow, this.deps.config.wsFramesPerSecond)) {
      this.context.frameErrors.inc({ reason: 'rate_limited' })
      this.close(PUSHER_CLOSE.overCapacity)
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = null
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Incoming).event !== 'string') {
      this.context.frameErrors.inc({ reason: 'protocol_error' })
      this.send(encodeError(null, 'Invalid frame: expected {"event": string, "data": …}'))
      return
    }
    const frame = parsed as Incoming
    switch (frame.event) {
      case 'pusher:ping':
        this.send(PUSHER_PONG)
        return
      case 'pusher:pong':
        return
      case 'pusher:subscribe': {
        const data = dataObject(frame.data)
        this.enqueue(() => this.subscribe(data))
        return
      }
      case 'pusher:unsubscribe': {
        const channel = dataObject(frame.data).channel
        if (typeof channel === 'string') this.enqueue(() => this.unsubscribe(channel))
        return
      }
      default:
        if (frame.event.startsWith('client-')) {
          this.clientEvent(frame)
          return
        }
        // Other events (pusher:signin, pusher:cache_miss…) are not served here; Pusher ignores them too.
        return
    }
  }

  private within(window: { start: number; count: number }, limit: number): boolean {
    const now = Date.now()
    if (now - window.start >= 1000) {
      window.start = now
      window.count = 0
    }
    window.count += 1
    return window.count <= limit
  }

  // ── subscriptions ───────────────────────────────────────────────────────────────────────────

  private refuse(channel: string, status: number, message: string): void {
    this.context.frameErrors.inc({ reason: status === 401 ? 'unauthorized' : 'forbidden' })
    this.send(encodeSubscriptionError(channel, status, message))
  }

  private async subscribe(data: Record<string, unknown>): Promise<void> {
    const name = data.channel
    if (this.closed || typeof name !== 'string' || name.length > 200) return
    if (this.channels.has(name)) return
    const channel = parseChannel(name)
    if (!channel)
      return this.refuse(
        name,
        403,
        'Parley serves only private-user, private-chat and presence-chat channels',
      )
    const auth = data.auth
    const channelDataText = typeof data.channel_data === 'string' ? data.channel_data : undefined
    const { appKey, signingKey } = this.context
    if (
      typeof auth !== 'string' ||
      !verifyChannel(appKey, signingKey, auth, this.socketId, name, channelDataText)
    ) {
      return this.refuse(name, 401, 'Invalid signature')
    }
    const signed = parseChannelData(channelDataText)
    if (!signed) return this.refuse(name, 401, 'channel_data must come from POST /broadcasting/auth')
    if (this.user && (this.user.userId !== signed.user_id || this.user.sessionId !== signed.session_id)) {
      return this.refuse(name, 403, 'This connection belongs to another session')
    }
    // Signed a moment ago by the auth route; checked again here, so a membership that ended in between counts.
    try {
      await authorizeChannel(this.deps, signed.user_id, name)
    } catch (error) {
      if (error instanceof ApiError) return this.refuse(name, error.status, error.message)
      throw error
    }
    if (!this.user && !(await this.bind(signed.user_id, signed.session_id))) {
      if (!this.closed) this.refuse(name, 401, 'The session is not live')
      return
    }
    if (this.closed) return
    if (channel.kind === 'presence') return this.joinPresence(name, signed)
    this.channels.set(name, channel)
    this.send(encodePusher('pusher_internal:subscription_succeeded', {}, name))
  }

  /**
   * The first private subscription makes this socket a device of the user: counted in presence and the
   * caps, subscribed to the user's topics (subscribe first: nothing published after this is lost to it).
   */
  private async bind(userId: number, sessionId: string): Promise<boolean> {
    if (!(await sessionIsLive(this.deps, userId, sessionId))) return false
    if (this.closed) return false
    if (this.pendingSlot) this.context.pendingPerIp.release(this.ip)
    this.pendingSlot = false
    if (!this.context.perSession.take(sessionId)) {
      this.close(PUSHER_CLOSE.overCapacity)
      return false
    }
    this.sessionSlot = sessionId
    this.user = { userId, sessionId }
    this.online = true
    const sockets = await this.context.ephemeral.connected(userId, this.id)
    if (this.closed) return false
    if (sockets > this.deps.config.wsMaxSocketsPerUser) {
      this.close(PUSHER_CLOSE.overCapacity)
      return false
    }
    this.unsubscribers.push(
      await this.deps.bus.subscribe(userTopic(userId), (frame) => this.enqueue(() => this.onUpdate(frame))),
      await this.deps.bus.subscribe(eventsTopic(userId), (frame) => this.enqueue(() => this.onEvent(frame))),
      await this.deps.bus.subscribe(sessionTopic(sessionId), () => this.close(PUSHER_CLOSE.unauthorized)),
    )
    if (this.closed) {
      await this.dispose()
      return false
    }
    return true
  }

  private async joinPresence(name: string, signed: ChannelData): Promise<void> {
    const member: ChannelMember = { user_id: signed.user_id, user_info: signed.user_info ?? {} }
    this.heldMemberEvents.set(name, [])
    const unsubscribe = await this.deps.bus.subscribe(channelTopic(name), (payload) => {
      const cut = payload.indexOf('\n')
      if (payload.slice(0, cut) === this.id) return
      const frame = payload.slice(cut + 1)
      const held = this.heldMemberEvents.get(name)
      if (held) held.push(frame)
      else if (this.channels.has(name)) this.send(frame)
    })
    this.presence.set(name, { member, unsubscribe })
    if (await this.deps.channelMembers.join(name, this.id, member)) {
      await this.publishMember(name, encodePusher('pusher_internal:member_added', member, name))
    }
    const members = await this.deps.channelMembers.list(name)
    if (this.closed) return
    const hash: Record<string, unknown> = {}
    for (const { user_id, user_info } of members) hash[String(user_id)] = user_info
    this.channels.set(name, parseChannel(name)!)
    this.send(
      encodePusher(
        'pusher_internal:subscription_succeeded',
        { presence: { ids: members.map((m) => String(m.user_id)), hash, count: members.length } },
        name,
      ),
    )
    const held = this.heldMemberEvents.get(name) ?? []
    this.heldMemberEvents.delete(name)
    for (const frame of held) this.send(frame)
  }

  private async leavePresence(name: string): Promise<void> {
    const joined = this.presence.get(name)
    if (!joined) return
    this.presence.delete(name)
    this.heldMemberEvents.delete(name)
    const userId = joined.member.user_id
    if (await this.deps.channelMembers.leave(name, this.id, userId)) {
      await this.publishMember(
        name,
        encodePusher('pusher_internal:member_removed', { user_id: userId }, name),
      )
    }
    await joined.unsubscribe()
  }

  private async publishMember(name: string, frame: string): Promise<void> {
    await this.deps.bus.publish(channelTopic(name), `${this.id}\n${frame}`).catch((error: unknown) => {
      this.deps.log.warn({ err: error, channel: name }, 'presence member event publish failed')
    })
  }

  private async unsubscribe(name: string): Promise<void> {
    this.channels.delete(name)
    await this.leavePresence(name)
  }

  // ── client events ───────────────────────────────────────────────────────────────────────────

  /** Seed 002 uses one client event, typing (Laravel Echo's `whisper('typing', …)`): it runs as `/ws` typing does. */
  private clientEvent(frame: Incoming): void {
    const channel = typeof frame.channel === 'string' ? this.channels.get(frame.channel) : undefined
    if (!channel || channel.kind === 'user' || !this.user) {
      this.context.frameErrors.inc({ reason: 'forbidden' })
      this.send(
        encodeError(
          null,
          'Client event rejected: only on a private-chat or presence-chat channel you subscribed to',
        ),
      )
      return
    }
    if (frame.event !== 'client-typing') {
      this.context.frameErrors.inc({ reason: 'unknown_op' })
      this.send(encodeError(null, 'Client event rejected: Parley relays only client-typing'))
      return
    }
    if (!this.within(this.clientEventWindow, CLIENT_EVENTS_PER_SECOND)) {
      this.context.frameErrors.inc({ reason: 'rate_limited' })
      this.send(encodeError(CLIENT_EVENT_RATE_LIMITED, 'Client event rejected due to rate limit'))
      return
    }
    const data = dataObject(frame.data)
    const stop = data.is_typing === false || data.typing === false
    this.context.ephemeral.typing(
      this,
      this.user.userId,
      channel.chatId,
      stop ? 'typing:stop' : 'typing:start',
    )
  }

  // ── outbound: the user's frames, translated ─────────────────────────────────────────────────

  private async onUpdate(frame: string): Promise<void> {
    if (this.closed || !this.user) return
    const update = framePayload<Update>(frame, 'update')
    if (update) this.emit(await translateUpdate(this.user.userId, update, this.lookups))
  }

  private async onEvent(frame: string): Promise<void> {
    if (this.closed || !this.user) return
    const event = framePayload<EphemeralEvent>(frame, 'event')
    if (event) this.emit(await translateEvent(this.user.userId, event, this.lookups))
  }

  private async userName(userId: number): Promise<string | null> {
    if (this.names.has(userId)) return this.names.get(userId) ?? null
    const { name } = await userBrief(this.deps, userId)
    if (this.names.size >= 1000) this.names.clear()
    this.names.set(userId, name)
    return name
  }
}
