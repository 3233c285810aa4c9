/**
 * Who is online: a user is online while at least one of their sockets is open on any node. Each open
 * socket is registered under a connection id unique to it; the implementation answers whether a
 * registration was the user's first (and how many they hold) (→ `presence:online`) and whether a removal was their last
 * (→ `presence:offline`), atomically across nodes.
 */
export interface Presence {
  /**
   * Registers one open socket. Answers how many the user has open anywhere, this one included (1: it is
   * their first, → `presence:online`; the gateway's per-user socket cap reads it too).
   */
  connect(userId: number, connectionId: string): Promise<number>
  /** Removes one socket. True when it was the user's last open socket anywhere. */
  disconnect(userId: number, connectionId: string): Promise<boolean>
  /** The subset of `userIds` that is online now, in one round trip. */
  onlineOf(userIds: readonly number[]): Promise<Set<number>>
  /**
   * Cluster upkeep, run by every node every `config.presenceLeaseMs / 3` (realtime/ephemeral.ts): renews
   * this node's lease, and takes over the sockets of nodes whose lease ran out (a crash, a freeze). Each
   * dead node is claimed by exactly one surviving node, atomically, so its users are announced offline
   * once cluster-wide.
   */
  maintain(): Promise<PresenceUpkeep>
  /**
   * Registers again a socket this node still holds, after `maintain` found the lease lost. Answers what
   * `connect` answers, or 0 when the socket closed in the meantime (nothing is registered then).
   */
  restore(userId: number, connectionId: string): Promise<number>
  close(): Promise<void>
}

export interface PresenceUpkeep {
  /** Users whose last socket was on a dead node: now offline everywhere, to announce (last seen: now). */
  offline: number[]
  /**
   * This node's sockets that are no longer registered because its lease was lost (Redis restarted and
   * forgot everything, or this node was frozen longer than its lease and another node claimed it).
   */
  unregistered: Array<{ userId: number; connectionId: string }>
}
