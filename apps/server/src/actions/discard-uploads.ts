import type { Deps } from '../deps.ts'
import { variantsOf } from '../presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { AttachmentRow } from '../store/schema.ts'

/**
 * Removes what a multipart request stored before it failed (a later part refused, a bad field, the
 * send or group refused, a retry answered with its original): the attachments, never attached, and
 * their files, so a refused request leaves nothing half-stored. Housekeeping would remove them after a
 * day anyway; a failure here is only logged.
 */
export async function discardUploads(
  deps: Pick<Deps, 'store' | 'blobs' | 'log'>,
  uploads: readonly AttachmentRow[],
): Promise<void> {
  if (uploads.length === 0) return
  try {
    const removed = await new AttachmentRepository(deps.store.db).deleteUnattached(
      uploads.map((row) => row.id),
    )
    const keys = removed.flatMap((row) => [
      row.storage_key,
      ...Object.values(variantsOf(row)).flatMap((variant) => (variant ? [variant.key] : [])),
    ])
    if (keys.length > 0) await deps.blobs.delete(keys)
  } catch (error) {
    deps.log.warn({ err: error }, 'could not discard the uploads of a refused request')
  }
}
