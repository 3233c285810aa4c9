import type { Presence, PresenceUpkeep } from './presence.ts'

/** The embedded presence: one process holds every socket, so a set of connection ids per user. */
export class MemoryPresence implements Presence {
  private readonly connections = new Map<number, Set<string>>()

  async connect(userId: number, connectionId: string): Promise<number> {
    let set = this.connections.get(userId)
    if (!set) {
      set = new Set()
      this.connections.set(userId, set)
    }
    set.add(connectionId)
    return set.size
  }

  async disconnect(userId: number, connectionId: string): Promise<boolean> {
    const set = this.connections.get(userId)
    if (!set?.delete(connectionId)) return false
    if (set.size > 0) return false
    this.connections.delete(userId)
    return true
  }

  async onlineOf(userIds: readonly number[]): Promise<Set<number>> {
    return new Set(userIds.filter((id) => this.connections.has(id)))
  }

  /** One process holds every socket: no other node can die holding some. */
  async maintain(): Promise<PresenceUpkeep> {
    return { offline: [], unregistered: [] }
  }

  async restore(userId: number, connectionId: string): Promise<number> {
    return this.connections.get(userId)?.has(connectionId) ? (this.connections.get(userId)?.size ?? 0) : 0
  }

  /** Sockets counted, for the leak checks of the soak test. */
  get size(): number {
    return this.connections.size
  }

  async close(): Promise<void> {
    this.connections.clear()
  }
}
