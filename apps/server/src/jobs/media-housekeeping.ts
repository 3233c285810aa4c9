import type { Deps } from '../deps.ts'
import { incomingKey } from '../media/uploads.ts'
import { variantsOf } from '../presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'

const DAY_MS = 24 * 60 * 60 * 1000
const BATCH = 100

export interface HousekeepingOutcome {
  removed: number
  /** Bytes of the removed attachments (originals as recorded; variants included). */
  bytes: number
}

/**
 * Media housekeeping (docs/api/media.md, "Housekeeping"): removes attachments nothing references —
 * uploads never attached within a day (abandoned, rejected, or never completed), and attachments once
 * attached whose every message was deleted for everyone and which are no one's avatar. The row goes
 * first, in a statement that re-checks the rule (an attachment attached meanwhile stays); its blobs
 * (original, variants, an unfinished upload) after. Idempotent; one node at a time (job lock).
 */
export async function mediaHousekeeping(
  deps: Pick<Deps, 'store' | 'clock' | 'blobs' | 'log'>,
): Promise<HousekeepingOutcome> {
  const unattachedBefore = deps.clock.now() - DAY_MS
  const outcome: HousekeepingOutcome = { removed: 0, bytes: 0 }
  const seen = new Set<number>()
  for (;;) {
    const candidates = (
      await new AttachmentRepository(deps.store.db).unreferenced(unattachedBefore, BATCH)
    ).filter((row) => !seen.has(row.id))
    if (candidates.length === 0) break
    for (const row of candidates) {
      seen.add(row.id)
      const removed = await deps.store.writer.write((trx) =>
        new AttachmentRepository(trx).removeIfUnreferenced(row.id, unattachedBefore),
      )
      if (!removed) continue
      // The `original` variant lives under storage_key itself: counted once, as row.size.
      const variants = Object.values(variantsOf(row)).flatMap((variant) =>
        variant && variant.key !== row.storage_key ? [variant] : [],
      )
      try {
        if (row.upload_id !== null) await deps.blobs.abortMultipart(incomingKey(row), row.upload_id)
        await deps.blobs.delete([
          row.storage_key,
          incomingKey(row),
          ...variants.map((variant) => variant.key),
        ])
      } catch (error) {
        // The row is gone, so nothing serves these bytes; they only take space until removed by hand.
        deps.log.warn(
          { err: error, attachment: row.id, key: row.storage_key },
          'could not remove media blobs',
        )
      }
      outcome.removed++
      outcome.bytes += row.size + variants.reduce((sum, variant) => sum + variant.size, 0)
    }
  }
  if (outcome.removed > 0) deps.log.info(outcome, 'media housekeeping')
  return outcome
}
