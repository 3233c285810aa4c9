import type { Logger } from 'pino'
import type { Appended } from '../store/update-log.repository.ts'
import type { Bus } from './bus.ts'
import { updateFrame, updateTail } from './wire.ts'

export const userTopic = (userId: number) => `user:${userId}`

/**
 * Publishes committed updates on each recipient's topic as ready-to-send WebSocket frames. The data is
 * serialised once per change; only the seq differs per recipient. A lost publish is repaired by the
 * reader from the database (DESIGN §3.4), so failures are logged, never thrown at the sender.
 */
export function publishUpdates(deps: { bus: Bus; log: Logger }, appended: readonly Appended[]): void {
  for (const change of appended) {
    const tail = updateTail(change.type, change.dataJson)
    for (const { userId, seq } of change.seqs) {
      deps.bus.publish(userTopic(userId), updateFrame(seq, tail)).catch((error: unknown) => {
        deps.log.warn(
          { err: error, user_id: userId, seq },
          'bus publish failed; readers will catch up from the log',
        )
      })
    }
  }
}
