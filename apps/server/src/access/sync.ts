import type { SyncResponse } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { userTopic } from '../realtime/publish.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'

/**
 * The user's updates after `since` from the log (the truth; DESIGN §3.4–3.5). A cursor below what
 * retention removed, or past the user's newest seq, answers `resync_required` — never a silent gap.
 */
export async function readUpdates(
  deps: Pick<Deps, 'store'>,
  userId: number,
  since: number,
  limit: number,
): Promise<SyncResponse> {
  const log = new UpdateLogRepository(deps.store.db)
  const cursor = await log.cursor(userId)
  if (since < cursor.purgedThrough || since > cursor.seq) {
    return { success: true, resync_required: true, current_seq: cursor.seq }
  }
  const updates = await log.readSince(userId, since, limit + 1)
  const page = updates.slice(0, limit)
  return {
    success: true,
    updates: page,
    next_seq: page.at(-1)?.seq ?? since,
    has_more: updates.length > limit,
  }
}

/**
 * Long-poll: answers as soon as the user has an update after `since`, or after `timeoutMs` with none.
 * Subscribes before reading, so an update committed in between is not missed.
 */
export async function waitForUpdates(
  deps: Pick<Deps, 'store' | 'bus'>,
  input: { userId: number; since: number; limit: number; timeoutMs: number; signal: AbortSignal },
): Promise<SyncResponse> {
  let wake = () => {}
  const arrived = new Promise<void>((resolve) => {
    wake = resolve
  })
  const unsubscribe = await deps.bus.subscribe(userTopic(input.userId), () => wake())
  try {
    const first = await readUpdates(deps, input.userId, input.since, input.limit)
    if (!('updates' in first) || first.updates.length > 0) return first
    const timer = setTimeout(wake, input.timeoutMs)
    input.signal.addEventListener('abort', () => wake(), { once: true })
    await arrived
    clearTimeout(timer)
    return await readUpdates(deps, input.userId, input.since, input.limit)
  } finally {
    await unsubscribe()
  }
}
