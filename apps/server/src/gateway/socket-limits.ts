/**
 * Socket caps held by one node: unauthenticated (pre-hello) sockets per client IP, and open sockets per
 * session. The per-user cap is counted across the cluster by presence (realtime/presence.ts).
 */
export class SocketCounts {
  private readonly counts = new Map<string, number>()

  constructor(private readonly limit: number) {}

  /** Takes a slot for `key`; false (nothing taken) when it already holds `limit`. */
  take(key: string): boolean {
    const count = this.counts.get(key) ?? 0
    if (count >= this.limit) return false
    this.counts.set(key, count + 1)
    return true
  }

  /** Keys holding a slot (leak checks: zero once every socket left). */
  get size(): number {
    return this.counts.size
  }

  release(key: string): void {
    const count = (this.counts.get(key) ?? 0) - 1
    if (count > 0) this.counts.set(key, count)
    else this.counts.delete(key)
  }
}
