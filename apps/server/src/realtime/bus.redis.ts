import { Redis } from 'ioredis'
import { type Bus, TopicHandlers } from './bus.ts'

/**
 * Redis pub/sub bus. One subscriber connection per node; a topic is subscribed upstream when its first
 * local handler arrives and unsubscribed after its last leaves. Topics are prefixed so several
 * deployments (or test runs) can share one Redis.
 */
export class RedisBus implements Bus {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly topics = new TopicHandlers()

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.publisher = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 })
    this.subscriber = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: null })
    this.subscriber.on('message', (channel: string, payload: string) => {
      this.topics.dispatch(channel.slice(this.prefix.length), payload)
    })
    // ioredis re-subscribes on reconnect; errors are reported by /health/detailed, not thrown here.
    this.publisher.on('error', () => {})
    this.subscriber.on('error', () => {})
    let connectedBefore = false
    this.subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true
        return
      }
      // ioredis sends the re-subscriptions right after 'ready'; a ping queued behind them answers once
      // they are in place, so a reader re-reading the log then misses nothing published afterwards.
      setImmediate(() => {
        this.subscriber
          .ping()
          .then(() => {
            for (const listener of this.reconnectListeners) listener()
          })
          .catch(() => {})
      })
    })
  }

  private readonly reconnectListeners: Array<() => void> = []

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener)
  }

  get topicCount(): number {
    return this.topics.size
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.publisher.publish(this.prefix + topic, payload)
  }

  async subscribe(topic: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.topics.add(topic, handler)) await this.subscriber.subscribe(this.prefix + topic)
    return async () => {
      if (this.topics.remove(topic, handler)) await this.subscriber.unsubscribe(this.prefix + topic)
    }
  }

  async ping(): Promise<void> {
    await this.publisher.ping()
  }

  async close(): Promise<void> {
    this.publisher.disconnect()
    this.subscriber.disconnect()
  }
}
