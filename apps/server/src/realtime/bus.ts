/**
 * Fan-out between server nodes. Delivery is best-effort and at-most-once: the database update log is
 * the truth and the bus only carries latency (DESIGN §3.4). Per topic, messages published by one node
 * arrive at each subscriber in publish order; nothing is promised across topics or publishers.
 */
export interface Bus {
  publish(topic: string, payload: string): Promise<void>
  /** Subscribes this node; returns an unsubscribe function. Many local handlers may share a topic. */
  subscribe(topic: string, handler: (payload: string) => void): Promise<() => Promise<void>>
  /**
   * Calls `listener` each time the bus connection was lost and is back with every subscription in
   * place: what was published in between may be lost, so readers re-read the log (DESIGN §3.4) rather
   * than wait for the next live frame to reveal the gap.
   */
  onReconnect(listener: () => void): void
  /** Topics this node is subscribed to (leak checks: it must fall to zero when every socket left). */
  readonly topicCount: number
  /** Round-trip check for /health/detailed. */
  ping(): Promise<void>
  close(): Promise<void>
}

/** Keeps local handlers per topic so a node holds one upstream subscription per topic, not per socket. */
export class TopicHandlers {
  private readonly handlers = new Map<string, Set<(payload: string) => void>>()

  /** Returns true when this is the topic's first local handler (subscribe upstream now). */
  add(topic: string, handler: (payload: string) => void): boolean {
    let set = this.handlers.get(topic)
    const first = set === undefined
    if (!set) {
      set = new Set()
      this.handlers.set(topic, set)
    }
    set.add(handler)
    return first
  }

  /** Returns true when the topic has no local handler left (unsubscribe upstream now). */
  remove(topic: string, handler: (payload: string) => void): boolean {
    const set = this.handlers.get(topic)
    if (!set) return false
    set.delete(handler)
    if (set.size > 0) return false
    this.handlers.delete(topic)
    return true
  }

  dispatch(topic: string, payload: string): void {
    for (const handler of this.handlers.get(topic) ?? []) handler(payload)
  }

  get size(): number {
    return this.handlers.size
  }
}
