import { SyncQuery, SyncResponse } from '@parley/protocol'
import { readUpdates, waitForUpdates } from '../../access/sync.ts'
import { acknowledge } from '../../actions/receipts.ts'
import type { Deps } from '../../deps.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

export function syncRoutes(app: App, deps: Deps) {
  app.get(
    '/api/sync',
    {
      onRequest: authenticate(deps),
      schema: {
        tags: ['sync'],
        summary: 'Your updates after a cursor (catch-up and long-poll)',
        description:
          'Returns `{updates: [{seq, type, data}], next_seq, has_more}` in seq order; pass `next_seq` as the next `since`. With `timeout` (seconds) it waits for the first update. `since` also acknowledges delivery: messages from others in your log up to it count as delivered to you, and their senders get `message:delivered`. A cursor older than retention answers `{resync_required: true, current_seq}`: reload over REST, then continue from `current_seq`.',
        security: secured,
        querystring: SyncQuery,
        response: { 200: SyncResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { since, limit = 500, timeout = 0 } = request.query
      // The client holds everything up to `since`: that acknowledges delivery of the messages in it.
      await acknowledge(deps, userId, since)
      if (timeout === 0) return readUpdates(deps, userId, since, limit)
      const controller = new AbortController()
      request.raw.once('close', () => controller.abort())
      return waitForUpdates(deps, {
        userId,
        since,
        limit,
        timeoutMs: timeout * 1000,
        signal: controller.signal,
      })
    },
  )
}
