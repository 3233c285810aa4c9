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
  close(): Promise<void>
}
