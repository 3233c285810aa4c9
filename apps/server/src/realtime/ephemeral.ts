import type { EphemeralEvent } from '@parley/protocol'
import { relationsFor } from '../access/relations.ts'
import type { Deps } from '../deps.ts'
import { iso } from '../presenters/time.ts'
import { visibleTo } from '../presenters/user.presenter.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import { ContactRepository } from '../store/contact.repository.ts'
import { UserRepository } from '../store/user.repository.ts'
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

type EphemeralDeps = Pick<Deps, 'store' | 'bus' | 'presence' | 'clock' | 'log' | 'config'>

/**
 * One per node. Typing indicators live on the node that holds the typer's socket (its timer sends the
 * auto-stop); presence is counted by `deps.presence`, shared by all nodes. Work for one key (a user's
 * presence, a (chat, user) typing indicator) runs serially, so `online` never overtakes `offline`
 * and `start` never overtakes `stop` from the same node.
 */
export class Ephemeral {
  private readonly typingStates = new Map<string, TypingState>()
  private readonly chains = new Map<string, Promise<void>>()

  constructor(private readonly deps: EphemeralDeps) {}

  // ── presence ──────────────────────────────────────────────────────────────────────────────────

  /** A socket of `userId` opened: the user's first anywhere announces `presence:online`. */
  connected(userId: number, connectionId: string): Promise<void> {
    return this.serial(`presence:${userId}`, async () => {
      if (await this.deps.presence.connect(userId, connectionId)) {
        await this.announce(userId, { type: 'presence:online', data: { user_id: userId } })
      }
    })
  }

  /** A socket closed: the user's last anywhere stores last seen and announces `presence:offline`. */
  disconnected(userId: number, connectionId: string): Promise<void> {
    return this.serial(`presence:${userId}`, async () => {
      if (!(await this.deps.presence.disconnect(userId, connectionId))) return
      const now = this.deps.clock.now()
      await new UserRepository(this.deps.store.db).update(userId, { last_seen_at: now })
      await this.announce(userId, {
        type: 'presence:offline',
        data: { user_id: userId, last_seen_at: iso(now) },
      })
    })
  }

  /**
   * Sends a presence event to the online users who may see `userId`'s last seen: their contacts (either
   * way) and private-chat partners, filtered by `privacy_last_seen` as the watcher stands to the user,
   * and never across a block in either direction.
   */
  private async announce(userId: number, event: EphemeralEvent): Promise<void> {
    const db = this.deps.store.db
    const [user, contacts, partners] = await Promise.all([
      new UserRepository(db).findById(userId),
      new ContactRepository(db).contactsEitherWay(userId),
      new ChatRepository(db).privatePartnersOf(userId),
    ])
    if (!user) return
    const candidates = [...new Set([...contacts, ...partners])].filter((id) => id !== userId)
    if (candidates.length === 0) return
    const [relations, online] = await Promise.all([
      relationsFor(db, userId, candidates),
      this.deps.presence.onlineOf(candidates),
    ])
    const audience = candidates.filter((watcherId) => {
      const fromUser = relations.get(watcherId)
      if (!fromUser || !online.has(watcherId)) return false
      if (fromUser.viewerBlockedTarget || fromUser.targetBlockedViewer) return false
      // relationsFor answers from the user's side; privacy is judged from the watcher's.
      return visibleTo(user.privacy_last_seen, {
        viewerHasTarget: fromUser.targetHasViewer,
        targetHasViewer: fromUser.viewerHasTarget,
        viewerBlockedTarget: fromUser.targetBlockedViewer,
        targetBlockedViewer: fromUser.viewerBlockedTarget,
      })
    })
    this.publish(audience, encodeEvent(event))
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
      const recipients = await this.typingAudience(userId, chatId)
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

  /** The other current members who may see `userId` type, online only; null when `userId` is not a member. */
  private async typingAudience(userId: number, chatId: number): Promise<number[] | null> {
    const chats = new ChatRepository(this.deps.store.db)
    if (!(await chats.findActiveMember(chatId, userId))) return null
    const others = (await chats.activeMembers(chatId)).map((m) => m.user_id).filter((id) => id !== userId)
    if (others.length === 0) return []
    const [relations, online] = await Promise.all([
      relationsFor(this.deps.store.db, userId, others),
      this.deps.presence.onlineOf(others),
    ])
    return others.filter((id) => {
      const relation = relations.get(id)
      return online.has(id) && !relation?.targetBlockedViewer && !relation?.viewerBlockedTarget
    })
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

  /** Resolves when every queued presence/typing task has run (node shutdown, before the store closes). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()])
  }

  /** Drops every indicator without announcing (node shutdown). */
  close(): void {
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
