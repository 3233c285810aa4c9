import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { MEDIA_SIZE_LIMITS, type MediaKind } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { ApiError, errors } from '../errors.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { AttachmentRow } from '../store/schema.ts'
import { safeFileName } from './processing/file-name.ts'
import { StorageFull } from './storage/blob-store.ts'
import { isNoSpace } from './storage/disk.ts'

type IngestDeps = Pick<Deps, 'store' | 'blobs' | 'clock' | 'config' | 'log' | 'media'>

export interface IngestInput {
  ownerId: number
  kind: MediaKind
  declaredMime: string
  fileName: string | null
  purpose: 'message' | 'avatar'
  /** The file's bytes as they arrive (a multipart part, a PUT body); never buffered whole. */
  source: Readable
}

/** A fresh, unguessable storage key; the date prefix keeps directories small on disk. */
export function newStorageKey(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '/')
  return `u/${day}/${crypto.randomBytes(16).toString('hex')}`
}

/** Fails the stream with a coded 413 as soon as it passes `limit` bytes (before they are all read). */
function sizeLimit(limit: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      if (seen > limit) done(errors.payloadTooLarge(limit))
      else done(null, chunk)
    },
  })
}

export const mediaErrors = {
  quotaExceeded: (quota: number, used: number) =>
    new ApiError(413, 'quota_exceeded', 'This file would take you over your media storage quota', {
      quota,
      used,
    }),
  insufficientStorage: () =>
    new ApiError(507, 'insufficient_storage', 'The media store is full; nothing was stored. Try again later'),
}

/** Turns a store's "no room" into the coded 507; anything else passes through. */
export function storageError(error: unknown): unknown {
  return error instanceof StorageFull || isNoSpace(error) ? mediaErrors.insufficientStorage() : error
}

/** Refuses an upload that would take the user past their quota (reserved sizes of pending uploads count). */
export async function checkQuota(
  deps: Pick<Deps, 'store' | 'config'>,
  ownerId: number,
  size: number,
): Promise<void> {
  const used = await new AttachmentRepository(deps.store.db).bytesUsedBy(ownerId)
  if (used + size > deps.config.mediaQuotaBytes)
    throw mediaErrors.quotaExceeded(deps.config.mediaQuotaBytes, used)
}

/** A rejected attachment as the error its uploader gets. */
export function rejection(row: AttachmentRow): ApiError {
  const reason = row.reject_reason ?? 'corrupt'
  if (reason === 'type_mismatch' || reason === 'type_not_allowed')
    return new ApiError(415, 'unsupported_media_type', `This file's type is not accepted (${reason})`, {
      reason,
    })
  return new ApiError(422, 'media_rejected', `The file was refused (${reason})`, { reason })
}

/**
 * Takes an upload that arrives in one stream (multipart sends, avatars, group create) from bytes to an
 * attachment: spooled to a temporary file under the per-kind limit, then through the pipeline (checks,
 * processing, storage). Resolves with a ready attachment; throws the coded error of a rejected one.
 * Nothing is left behind when it throws.
 */
export async function ingestStream(deps: IngestDeps, input: IngestInput): Promise<AttachmentRow> {
  const limit = MEDIA_SIZE_LIMITS[input.kind]
  const spool = path.join(deps.config.dataDir, 'tmp')
  await fs.promises.mkdir(spool, { recursive: true, mode: 0o700 })
  const file = path.join(spool, crypto.randomBytes(12).toString('hex'))
  try {
    await pipeline(input.source, sizeLimit(limit), fs.createWriteStream(file, { mode: 0o600 })).catch(
      (error: unknown) => {
        throw storageError(error)
      },
    )
    const { size } = await fs.promises.stat(file)
    if (size === 0) throw new ApiError(422, 'media_rejected', 'The file is empty', { reason: 'empty' })
    await checkQuota(deps, input.ownerId, size)
    const now = deps.clock.now()
    const row = await new AttachmentRepository(deps.store.db).insert({
      owner_id: input.ownerId,
      kind: input.kind,
      state: 'processing',
      reject_reason: null,
      declared_mime: input.declaredMime,
      declared_size: size,
      mime: null,
      size,
      // A multipart part's name is the client's: PostgreSQL refuses a NUL in text (a 500), so the
      // row holds the cleaned name from the start, not only once processing has run.
      file_name: safeFileName(input.fileName),
      width: null,
      height: null,
      duration_ms: null,
      placeholder: null,
      waveform: null,
      storage_key: newStorageKey(now),
      variants: null,
      upload_id: null,
      received_bytes: size,
      created_at: now,
      completed_at: now,
      ready_at: null,
      attached_at: null,
    })
    const processed = await deps.media
      .process(row, file, { purpose: input.purpose })
      .catch(async (error: unknown) => {
        // Not the file's fault (store full or down): the row must not linger half-made.
        await new AttachmentRepository(deps.store.db).remove(row.id)
        throw storageError(error)
      })
    if (processed.state !== 'ready') throw rejection(processed)
    return processed
  } finally {
    await fs.promises.rm(file, { force: true })
  }
}
