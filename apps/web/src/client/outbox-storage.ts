import type { Outgoing } from './store.ts'

const key = (userId: number) => `parley.outbox.${userId}`

/**
 * The sends not yet answered by the server, per user, in localStorage: a message typed offline
 * survives a reload and is sent again with the same client_msg_id (the server keeps one message per
 * client_msg_id, so a resend after an answer that was lost creates nothing new). localStorage rather
 * than IndexedDB: it is synchronous, so the entry is stored before the send is even attempted.
 */
export class OutboxStorage {
  constructor(private readonly storage: Storage) {}

  load(userId: number): Outgoing[] {
    try {
      const parsed: unknown = JSON.parse(this.storage.getItem(key(userId)) ?? '[]')
      return Array.isArray(parsed) ? parsed.filter(isOutgoing) : []
    } catch {
      // A damaged entry is the same as none.
      return []
    }
  }

  save(userId: number, outgoing: readonly Outgoing[]): void {
    try {
      if (outgoing.length === 0) this.storage.removeItem(key(userId))
      else this.storage.setItem(key(userId), JSON.stringify(outgoing))
    } catch {
      // Storage full or denied: the sends still go out while the page stays open.
    }
  }

  clear(userId: number): void {
    this.storage.removeItem(key(userId))
  }
}

function isOutgoing(value: unknown): value is Outgoing {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  return (
    typeof entry.clientMsgId === 'string' &&
    typeof entry.chatId === 'number' &&
    typeof entry.content === 'string' &&
    typeof entry.createdAt === 'string' &&
    (entry.state === 'pending' || entry.state === 'failed')
  )
}
