import fs from 'node:fs'
import { MEDIA_TYPES } from '@parley/protocol'
import { fileTypeFromFile } from 'file-type'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { Store } from '../store/db.ts'
import type { AttachmentRow } from '../store/schema.ts'
import type { BlobStore } from './storage/blob-store.ts'

/**
 * What happens to an upload once all its bytes are in a local file: checked (type, size, scan),
 * processed (metadata stripped, variants made), stored, and the attachment row moved from
 * `processing` to `ready` or `rejected`. Bad bytes never throw: the row says why it was rejected.
 * Infrastructure failures (storage, database, scanner down) do throw, and the caller answers 503.
 */
export interface MediaPipeline {
  process(row: AttachmentRow, localPath: string): Promise<AttachmentRow>
  close(): Promise<void>
}

export interface PipelineDeps {
  config: Config
  store: Store
  blobs: BlobStore
  clock: Clock
  log: Logger
}

/** First version: the type sniffed and checked, the bytes stored as uploaded. */
export function createPipeline(deps: PipelineDeps): MediaPipeline {
  const attachments = new AttachmentRepository(deps.store.db)
  return {
    async process(row, localPath) {
      const now = deps.clock.now()
      const sniffed = (await fileTypeFromFile(localPath))?.mime ?? 'application/octet-stream'
      if (row.kind !== 'document' && !MEDIA_TYPES[row.kind].includes(sniffed)) {
        await attachments.update(row.id, {
          state: 'rejected',
          reject_reason: 'type_not_allowed',
          mime: sniffed,
        })
      } else {
        await deps.blobs.put(row.storage_key, fs.createReadStream(localPath), { contentType: sniffed })
        await attachments.update(row.id, { state: 'ready', mime: sniffed, ready_at: now })
      }
      const updated = await attachments.findById(row.id)
      if (!updated) throw new Error('attachment vanished while processing')
      return updated
    },
    async close() {},
  }
}
