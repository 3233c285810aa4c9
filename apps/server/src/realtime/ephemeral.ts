import type { EphemeralEvent } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { encodeEvent } from './wire.ts'

/**
 * Ephemeral events (DESIGN §3.7): typing and presence. They go over the bus only, on each recipient's
 * `events:{userId}` topic, as ready-to-send `{"op":"event",...}` frames serialised once; they are never
 * written to the update log, and a recipient with no open socket simply never gets them.
 */
export const eventsTopic = (userId: number) => `events:${userId}`

/** At most one `typing:start` per (chat, user) is forwarded per this window. */
export const TYPING_THROTTLE_MS = 2000

interface TypingState {
  /** The connection whose frames keep this indicator alive; its close stops it. */
  owner: object
  recipients: number[]
  forwardedAt: number
  timer: NodeJS.Timeout | null
}

type EphemeralDeps = Pick<Deps, 'bus' | 'presence' | 'clock' | 'log' | 'config'>

/**
 * Who may see what: the rules live in the action layer (actions/presence.ts, actions/typing.ts), this
 * module only counts, times and sends.
 */
export interface EphemeralRules {
  /** The online users who may see `userId` come online or go offline. */
  presenceAudience(userId: number): Promise<number[]>
  /** The user's last socket closed at `now`: store their last seen. */
  recordLastSeen(userId: number, now: number): Promise<void>
  /** Who may see `userId` type in `chatId`; null when `userId` may not type there. */
  typingAudience(userId: number, chatId: number): Promise<number[] | null>
}

/**
 * One per node. Typing indicators live on the node that holds the typer's socket (its timer sends the
 * auto-stop); presence is counted by `deps.presence`, shared by all nodes. Work for one key (a user's
 * presence, a (chat, user) typing indicator) runs serially, so `online` never overtakes `offline`
 * and `start` never overtakes `stop` from the same node.
 */
export class Ephemeral {
  private readonly typingStates = new Map<string, TypingState>()
  private readonly chains = new Map<string, Promise<void>>()
  private readonly upkeep: NodeJS.Timeout
  private maintaining = false

  constructor(
    private readonly deps: EphemeralDeps,
    private readonly rules: EphemeralRules,
  ) {
    this.upkeep = setInterval(() => void this.maintain(), Math.floor(deps.config.presenceLeaseMs / 3))
    this.upkeep.unref()
  }

  // ── presence ──────────────────────────────────────────────────────────────────────────────────

  /**
   * A socket of `userId` opened: the user's first anywhere announces `presence:online`. Answers how many
   * sockets the user holds anywhere, this one included (0 when presence could not be reached).
   */
  async connected(userId: number, connectionId: string): Promise<number> {
    let count = 0
    await this.serial(`presence:${userId}`, async () => {
      count = await this.deps.presence.connect(userId, connectionId)
      if (count === 1) await this.announce(userId, { type: 'presence:online', data: { user_id: userId } })
    })
    return count
  }

  /** A socket closed: the user's last anywhere stores last seen and announces `presence:offline`. */
  disconnected(userId: number, connectionId: string): Promise<void> {
    return this.serial(`presence:${userId}`, async () => {
      if (await this.deps.presence.disconnect(userId, connectionId)) await this.wentOffline(userId)
    })
  }

  private async wentOffline(userId: number): Promise<void> {
    const now = this.deps.clock.now()
    await this.rules.recordLastSeen(userId, now)
    await this.announce(userId, {
      type: 'presence:offline',
      data: { user_id: userId, last_seen_at: new Date(now).toISOString() },
    })
  }

  /**
   * Presence upkeep (presence.ts `maintain`): the users of a node that died go offline, announced once
   * by whichever node claimed it; when this node's own registrations were lost (Redis restarted, or
   * this node was frozen past its lease and its users were announced offline) its open sockets register
   * again, and a user who thereby comes back is announced online. Errors (Redis away) wait for the next
   * round.
   */
  async maintain(): Promise<void> {
    if (this.maintaining) return
    this.maintaining = true
    try {
      const { offline, unregistered } = await this.deps.presence.maintain()
      for (const userId of offline) void this.serial(`presence:${userId}`, () => this.wentOffline(userId))
      for (const { userId, connectionId } of unregistered) {
        void this.serial(`presence:${userId}`, async () => {
          const count = await this.deps.presence.restore(userId, connectionId)
          if (count === 1) await this.announce(userId, { type: 'presence:online', data: { user_id: userId } })
        })
      }
    } catch (error) {
      this.deps.log.warn({ err: error }, 'presence upkeep failed')
    } finally {
      this.maintaining = false
    }
  }

  /** Sends a presence event to the online users who may see `userId`'s last seen (the rule: actions/presence.ts). */
  private async announce(userId: number, event: EphemeralEvent): Promise<void> {
    const audience = await this.rules.presenceAudience(userId)
    if (audience.length > 0) this.publish(audience, encodeEvent(event))
  }

  // ── typing ────────────────────────────────────────────────────────────────────────────────────

  /**
   * A `typing:start`/`typing:stop` frame from `owner` (a connection of `userId`). A sender who is not a
   * current member of the chat is ignored. Starts are throttled; an indicator not renewed within
   * `config.typingTimeoutMs` is stopped by the server.
   */
  typing(owner: object, userId: number, chatId: number, op: 'typing:start' | 'typing:stop'): void {
    const key = `${chatId}:${userId}`
    void this.serial(`typing:${key}`, async () => {
      const state = this.typingStates.get(key)
      if (op === 'typing:stop') {
        if (state) this.stopTyping(key, state, chatId, userId)
        return
      }
      const now = Date.now()
      if (state && now - state.forwardedAt < TYPING_THROTTLE_MS) {
        state.owner = owner
        this.arm(key, state, chatId, userId)
        return
      }
      const recipients = await this.rules.typingAudience(userId, chatId)
      if (recipients === null) {
        if (state) this.stopTyping(key, state, chatId, userId)
        return
      }
      const next = state ?? { owner, recipients, forwardedAt: now, timer: null }
      next.owner = owner
      next.recipients = recipients
      next.forwardedAt = now
      this.typingStates.set(key, next)
      this.arm(key, next, chatId, userId)
      this.publish(
        recipients,
        encodeEvent({ type: 'typing:start', data: { chat_id: chatId, user_id: userId } }),
      )
    })
  }

  /** A connection closed: the indicators it kept alive stop now rather than at the timeout. */
  dropOwner(owner: object): void {
    for (const [key, state] of this.typingStates) {
      if (state.owner !== owner) continue
      const [chatId, userId] = key.split(':').map(Number) as [number, number]
      void this.serial(`typing:${key}`, async () => {
        if (this.typingStates.get(key) === state) this.stopTyping(key, state, chatId, userId)
      })
    }
  }

  private arm(key: string, state: TypingState, chatId: number, userId: number): void {
    if (state.timer) clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      void this.serial(`typing:${key}`, async () => {
        if (this.typingStates.get(key) === state) this.stopTyping(key, state, chatId, userId)
      })
    }, this.deps.config.typingTimeoutMs)
    state.timer.unref()
  }

  private stopTyping(key: string, state: TypingState, chatId: number, userId: number): void {
    if (state.timer) clearTimeout(state.timer)
    this.typingStates.delete(key)
    this.publish(
      state.recipients,
      encodeEvent({ type: 'typing:stop', data: { chat_id: chatId, user_id: userId } }),
    )
  }

  /** Per-key state this node holds (leak checks: all zero once every socket left and work settled). */
  get sizes(): { typing: number; chains: number } {
    return { typing: this.typingStates.size, chains: this.chains.size }
  }

  /** Resolves when every queued presence/typing task has run (node shutdown, before the store closes). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()])
  }

  /** Drops every indicator without announcing (node shutdown). */
  close(): void {
    clearInterval(this.upkeep)
    for (const state of this.typingStates.values()) if (state.timer) clearTimeout(state.timer)
    this.typingStates.clear()
  }

  // ── plumbing ──────────────────────────────────────────────────────────────────────────────────

  private publish(userIds: readonly number[], frame: string): void {
    for (const userId of userIds) {
      this.deps.bus.publish(eventsTopic(userId), frame).catch((error: unknown) => {
        this.deps.log.warn({ err: error, user_id: userId }, 'ephemeral publish failed')
      })
    }
  }

  private serial(key: string, task: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(key) ?? Promise.resolve()).then(task).catch((error: unknown) => {
      this.deps.log.warn({ err: error, key }, 'ephemeral event failed')
    })
    this.chains.set(key, next)
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key)
    })
    return next
  }
}
