import { type Bus, TopicHandlers } from './bus.ts'

/** The embedded bus: one process, synchronous hand-off in publish order. */
export class MemoryBus implements Bus {
  private readonly topics = new TopicHandlers()

  async publish(topic: string, payload: string): Promise<void> {
    this.topics.dispatch(topic, payload)
  }

  async subscribe(topic: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    this.topics.add(topic, handler)
    return async () => {
      this.topics.remove(topic, handler)
    }
  }

  /** One process: the bus cannot be cut off. */
  onReconnect(): void {}

  get topicCount(): number {
    return this.topics.size
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
