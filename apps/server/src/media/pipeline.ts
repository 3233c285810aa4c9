import fs from 'node:fs'
import path from 'node:path'
import type { RejectReason } from '@parley/protocol'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import { errors } from '../errors.ts'
import type { StoredVariant, StoredVariants } from '../presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { Store } from '../store/db.ts'
import type { AttachmentRow } from '../store/schema.ts'
import { createMediaMetrics, type MediaMetrics } from './media-metrics.ts'
import { ClamdScanner, ScannerUnavailable } from './processing/clamav.ts'
import { processMedia } from './processing/process-media.ts'
import { MediaRejected, type ProcessedMedia, type VirusScanner } from './processing/types.ts'
import type { BlobStore } from './storage/blob-store.ts'

/**
 * What happens to an upload once all its bytes are in a local file: checked (type, size, scan),
 * processed (metadata stripped, variants made), stored, and the attachment row moved from
 * `processing` to `ready` or `rejected`. Bad bytes never throw: the row says why it was rejected.
 * Infrastructure failures (storage, database, scanner down) do throw, and the caller answers 503.
 */
export interface MediaPipeline {
  /**
   * `options.purpose`: `avatar` makes square avatar sizes instead of display + thumbnail (the row does
   * not record what an upload is for; the caller knows). Default `message`.
   */
  process(row: AttachmentRow, localPath: string, options?: ProcessOptions): Promise<AttachmentRow>
  close(): Promise<void>
  /** Processing time, queue wait, rejects by reason; adopted by the app's /metrics registry. */
  readonly metrics: MediaMetrics
}

export interface ProcessOptions {
  purpose?: 'message' | 'avatar'
}

export interface PipelineDeps {
  config: Config
  store: Store
  blobs: BlobStore
  clock: Clock
  log: Logger
}

/**
 * A FIFO of waiters for a fixed number of slots. Processing is asynchronous (libvips works on libuv's
 * thread pool, parsers stream), so the event loop stays free for requests whatever the queue holds;
 * the bound keeps memory and threads for the rest of the server when a burst of uploads arrives.
 */
class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []
  constructor(size: number) {
    this.free = size
  }
  get queued(): number {
    return this.waiting.length
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }
  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.free += 1
  }
}

/** Where a variant lives: `original` replaces the uploaded bytes; the others sit beside it. */
export function variantKey(storageKey: string, name: string): string {
  return name === 'original' ? storageKey : `${storageKey}.${name}`
}

export function createPipeline(deps: PipelineDeps): MediaPipeline {
  const attachments = new AttachmentRepository(deps.store.db)
  const metrics = createMediaMetrics()
  const slots = new Slots(deps.config.mediaProcessingConcurrency)
  const scanner: VirusScanner | null = deps.config.clamavUrl
    ? new ClamdScanner({ url: deps.config.clamavUrl })
    : null
  const workRoot = path.join(deps.config.dataDir, 'tmp')
  let closed = false
  let inFlight = 0
  const idle: Array<() => void> = []

  async function reject(row: AttachmentRow, reason: RejectReason, detail: string): Promise<void> {
    deps.log.info({ attachmentId: row.id, kind: row.kind, reason, detail }, 'upload rejected')
    metrics.rejectsTotal.inc({ reason })
    // A direct upload's bytes may already sit under the key: a rejected file is never kept.
    await deps.blobs.delete([row.storage_key])
    await attachments.update(row.id, { state: 'rejected', reject_reason: reason })
  }

  /** Stores every variant, or none: a failure part-way removes what was written and throws. */
  async function storeVariants(row: AttachmentRow, localPath: string, processed: ProcessedMedia) {
    const stored: StoredVariants = {}
    const written: string[] = []
    const files = processed.variants.some((variant) => variant.name === 'original')
      ? processed.variants
      : [
          // No re-encoded original (audio, video, documents): the uploaded bytes are the original.
          {
            name: 'original' as const,
            path: localPath,
            mime: processed.mime,
            size: (await fs.promises.stat(localPath)).size,
            width: processed.width,
            height: processed.height,
          },
          ...processed.variants,
        ]
    try {
      for (const variant of files) {
        const key = variantKey(row.storage_key, variant.name)
        written.push(key)
        const { size } = await deps.blobs.put(key, fs.createReadStream(variant.path), {
          contentType: variant.mime,
        })
        const entry: StoredVariant = {
          key,
          mime: variant.mime,
          size,
          width: variant.width,
          height: variant.height,
        }
        stored[variant.name] = entry
      }
    } catch (error) {
      await deps.blobs.delete(written).catch((cleanup: unknown) => {
        deps.log.warn({ err: cleanup, attachmentId: row.id }, 'could not remove a partly stored upload')
      })
      throw error
    }
    return stored
  }

  async function run(row: AttachmentRow, localPath: string, purpose: 'message' | 'avatar'): Promise<void> {
    await fs.promises.mkdir(workRoot, { recursive: true, mode: 0o700 })
    const workDir = await fs.promises.mkdtemp(path.join(workRoot, `proc-${row.id}-`))
    const stopTimer = metrics.processingSeconds.startTimer({ kind: row.kind })
    try {
      if (scanner) {
        let signature: string | null
        try {
          signature = await scanner.scanFile(localPath)
        } catch (error) {
          if (!(error instanceof ScannerUnavailable)) throw error
          deps.log.error({ err: error, attachmentId: row.id }, 'virus scanner unavailable: upload refused')
          stopTimer({ outcome: 'failed' })
          throw errors.serviceUnavailable('The virus scanner is unavailable; try again later')
        }
        if (signature) {
          await reject(row, 'infected', signature)
          stopTimer({ outcome: 'rejected' })
          return
        }
      }
      let processed: ProcessedMedia
      try {
        processed = await processMedia({
          path: localPath,
          kind: row.kind,
          declaredMime: row.declared_mime,
          fileName: row.file_name,
          workDir,
          purpose,
          maxPixels: deps.config.mediaMaxPixels,
        })
      } catch (error) {
        if (!(error instanceof MediaRejected)) throw error
        await reject(row, error.reason, error.message)
        stopTimer({ outcome: 'rejected' })
        return
      }
      const variants = await storeVariants(row, localPath, processed)
      await attachments.update(row.id, {
        state: 'ready',
        mime: processed.mime,
        size: variants.original?.size ?? row.size,
        width: processed.width,
        height: processed.height,
        duration_ms: processed.durationMs,
        placeholder: processed.placeholder,
        waveform: processed.waveform,
        file_name: processed.fileName,
        variants: JSON.stringify(variants),
        ready_at: deps.clock.now(),
      })
      stopTimer({ outcome: 'ready' })
    } catch (error) {
      if (!(error instanceof Error && 'status' in error)) stopTimer({ outcome: 'failed' })
      throw error
    } finally {
      await fs.promises.rm(workDir, { recursive: true, force: true })
    }
  }

  return {
    metrics,
    async process(row, localPath, options = {}) {
      if (closed) throw errors.serviceUnavailable('The server is shutting down')
      inFlight += 1
      try {
        const stopWait = metrics.queueWaitSeconds.startTimer()
        metrics.queued.inc()
        await slots.acquire()
        metrics.queued.dec()
        stopWait()
        metrics.running.inc()
        try {
          await run(row, localPath, options.purpose ?? 'message')
        } finally {
          metrics.running.dec()
          slots.release()
        }
        const updated = await attachments.findById(row.id)
        if (!updated) throw new Error('attachment vanished while processing')
        return updated
      } finally {
        inFlight -= 1
        if (inFlight === 0) for (const resolve of idle.splice(0)) resolve()
      }
    },
    /** Refuses new work and waits for what is under way (its callers are waiting for answers). */
    async close() {
      closed = true
      if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve))
    },
  }
}
