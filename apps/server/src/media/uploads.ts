import crypto from 'node:crypto'
import fs from 'node:fs'
import type { IncomingMessage } from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { defaultKind, MEDIA_SIZE_LIMITS, type SignUploadBody, UPLOAD_PART_BYTES } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { ApiError, errors } from '../errors.ts'
import { enforceLimit } from '../limits/enforce.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { AttachmentRow } from '../store/schema.ts'
import { checkQuota, newStorageKey, rejection, storageError } from './ingest.ts'
import { type ReceivedPart, UploadNotFound } from './storage/blob-store.ts'
import { byteLimit, type DiskBlobStore, type DiskGrant, SizeMismatch } from './storage/disk.ts'

type UploadDeps = Pick<Deps, 'store' | 'blobs' | 'clock' | 'config' | 'log' | 'media' | 'counters'>

/** Where a direct upload's bytes land before processing; the processed original goes to storage_key. */
export const incomingKey = (row: Pick<AttachmentRow, 'storage_key'>) => `${row.storage_key}.upload`
const INCOMING_SUFFIX = '.upload'

/** A complete still processing after this long was cut off (its node stopped): it may be retried. */
const STALE_PROCESSING_MS = 10 * 60 * 1000

export const partCountOf = (size: number) => Math.max(1, Math.ceil(size / UPLOAD_PART_BYTES))

/**
 * Seed 000's sign step: checks the kind's limit, the user's upload rate and quota before any byte is
 * sent, reserves the attachment (`uploading`) and answers a URL the whole file can be PUT to.
 */
export async function signUpload(deps: UploadDeps, ownerId: number, body: SignUploadBody) {
  const kind = body.kind ?? defaultKind(body.mime_type)
  const limit = MEDIA_SIZE_LIMITS[kind]
  if (body.size > limit) throw errors.payloadTooLarge(limit)
  await enforceLimit(deps, `uploads:${ownerId}`, deps.config.uploadsPerMinute, 60_000, {
    message: 'Too many uploads; try again later',
  })
  await checkQuota(deps, ownerId, body.size)
  const now = deps.clock.now()
  const row = await new AttachmentRepository(deps.store.db).insert({
    owner_id: ownerId,
    kind,
    state: 'uploading',
    reject_reason: null,
    declared_mime: body.mime_type,
    declared_size: body.size,
    mime: null,
    size: 0,
    file_name: safeFileName(body.filename),
    width: null,
    height: null,
    duration_ms: null,
    placeholder: null,
    waveform: null,
    storage_key: newStorageKey(now),
    variants: null,
    upload_id: null,
    received_bytes: 0,
    created_at: now,
    completed_at: null,
    ready_at: null,
    attached_at: null,
  })
  const ttl = deps.config.mediaUrlTtlSeconds
  const uploadUrl = await deps.blobs.signedPutUrl(incomingKey(row), { ttl, size: body.size })
  return { row, uploadUrl, ttl, partSize: UPLOAD_PART_BYTES, partCount: partCountOf(body.size) }
}

/** The caller's own attachment; anyone else's id is the same 404 as a missing one. */
export async function ownAttachment(deps: Pick<Deps, 'store'>, ownerId: number, id: number) {
  const row = await new AttachmentRepository(deps.store.db).findById(id)
  if (!row || row.owner_id !== ownerId) throw errors.notFound('Attachment')
  return row
}

const notUploading = (row: AttachmentRow) =>
  errors.conflict(`This upload is ${row.state}; it takes no more bytes`, { state: row.state })

/**
 * Signed URLs for parts of a resumable upload (one protocol for both stores: S3 multipart, or parts
 * kept on disk). The multipart upload starts with the first request.
 */
export async function partUrls(
  deps: UploadDeps,
  ownerId: number,
  id: number,
  partNumbers: readonly number[],
) {
  let row = await ownAttachment(deps, ownerId, id)
  if (row.state !== 'uploading') throw notUploading(row)
  const count = partCountOf(row.declared_size)
  const outside = partNumbers.filter((n) => n > count)
  if (outside.length > 0)
    throw errors.validation(`This upload has ${count} parts`, { part_count: count, invalid: outside })
  if (row.upload_id === null) {
    const uploadId = await deps.blobs.createMultipart(incomingKey(row)).catch((error: unknown) => {
      throw storageError(error)
    })
    const repository = new AttachmentRepository(deps.store.db)
    // Two concurrent first requests: only one multipart upload may win; the other is dropped.
    const won = await repository.moveState(row.id, 'uploading', { upload_id: uploadId })
    const current = await repository.findById(row.id)
    if (!won || !current || current.upload_id !== uploadId) {
      await deps.blobs.abortMultipart(incomingKey(row), uploadId).catch(() => {})
      if (current?.state !== 'uploading' || current.upload_id === null) throw notUploading(current ?? row)
    }
    row = current ?? row
  }
  const uploadId = row.upload_id
  if (uploadId === null) throw notUploading(row)
  const ttl = deps.config.mediaUrlTtlSeconds
  const parts = await Promise.all(
    partNumbers.map(async (partNumber) => ({
      part_number: partNumber,
      url: await deps.blobs.signedPartUrl(incomingKey(row), uploadId, partNumber, { ttl }),
    })),
  )
  return { parts, ttl }
}

/** Parts received so far (empty when none, or when the upload is single-PUT). */
async function receivedParts(deps: UploadDeps, row: AttachmentRow): Promise<ReceivedPart[]> {
  if (row.upload_id === null) return []
  try {
    return await deps.blobs.listParts(incomingKey(row), row.upload_id)
  } catch (error) {
    if (error instanceof UploadNotFound) return []
    throw error
  }
}

export async function uploadState(deps: UploadDeps, ownerId: number, id: number) {
  const row = await ownAttachment(deps, ownerId, id)
  const uploading = row.state === 'uploading'
  const parts = uploading ? await receivedParts(deps, row) : []
  const whole = uploading ? await deps.blobs.head(incomingKey(row)) : null
  return {
    row,
    upload: {
      size: row.declared_size,
      part_size: UPLOAD_PART_BYTES,
      part_count: partCountOf(row.declared_size),
      parts_received: parts.map((part) => ({ part_number: part.partNumber, size: part.size })),
      complete: !uploading || whole?.size === row.declared_size,
    },
  }
}

/**
 * Makes sure the whole file is under the incoming key: a single PUT already put it there; parts are
 * joined once all have arrived with the right sizes. A 409 says what is missing.
 */
async function assemble(deps: UploadDeps, row: AttachmentRow): Promise<void> {
  const key = incomingKey(row)
  if (row.upload_id !== null) {
    let parts: ReceivedPart[] | null = null
    try {
      parts = await deps.blobs.listParts(key, row.upload_id)
    } catch (error) {
      // Joined by an earlier complete that failed afterwards: the whole file is there.
      if (!(error instanceof UploadNotFound)) throw error
    }
    if (parts !== null) {
      const count = partCountOf(row.declared_size)
      const byNumber = new Map(parts.map((part) => [part.partNumber, part]))
      const missing: number[] = []
      for (let n = 1; n <= count; n++) {
        const expected = n < count ? UPLOAD_PART_BYTES : row.declared_size - UPLOAD_PART_BYTES * (count - 1)
        if (byNumber.get(n)?.size !== expected) missing.push(n)
      }
      if (missing.length > 0)
        throw errors.conflict('Some parts have not arrived (or have the wrong size); upload them first', {
          missing_parts: missing.slice(0, 100),
        })
      const ordered = Array.from({ length: count }, (_, index) => byNumber.get(index + 1) as ReceivedPart)
      await deps.blobs.completeMultipart(key, row.upload_id, ordered).catch((error: unknown) => {
        throw storageError(error)
      })
    }
  }
  const whole = await deps.blobs.head(key)
  if (!whole) throw errors.conflict('The file has not been uploaded yet; PUT it to upload_url first')
  if (whole.size !== row.declared_size)
    throw errors.conflict(`The upload has ${whole.size} bytes, not the ${row.declared_size} signed for`)
}

/**
 * `POST /api/upload/:id/complete`: the bytes are fetched to a local file (streamed), processed, and
 * the attachment answered ready, or its coded rejection thrown. Idempotent: a second call gives the
 * same answer. An infrastructure failure puts the upload back, so complete can be retried.
 */
export async function completeUpload(deps: UploadDeps, ownerId: number, id: number): Promise<AttachmentRow> {
  const repository = new AttachmentRepository(deps.store.db)
  const row = await ownAttachment(deps, ownerId, id)
  if (row.state === 'ready') return row
  if (row.state === 'rejected') throw rejection(row)
  if (row.state === 'processing') {
    // A node that died mid-complete leaves the row processing: after a while, let a complete retry it.
    const stale = row.completed_at !== null && deps.clock.now() - row.completed_at > STALE_PROCESSING_MS
    if (
      !stale ||
      !(await repository.moveState(row.id, 'processing', { state: 'uploading', completed_at: null }))
    )
      throw errors.conflict('This upload is being processed; ask again shortly')
    return completeUpload(deps, ownerId, id)
  }
  await assemble(deps, row)
  const now = deps.clock.now()
  const moved = await repository.moveState(row.id, 'uploading', {
    state: 'processing',
    size: row.declared_size,
    received_bytes: row.declared_size,
    completed_at: now,
  })
  if (!moved) return completeUpload(deps, ownerId, id)
  const spool = path.join(deps.config.dataDir, 'tmp')
  const file = path.join(spool, crypto.randomBytes(12).toString('hex'))
  try {
    await fs.promises.mkdir(spool, { recursive: true, mode: 0o700 })
    await pipeline(await deps.blobs.get(incomingKey(row)), fs.createWriteStream(file, { mode: 0o600 }))
    const current = await repository.findById(row.id)
    if (!current) throw errors.notFound('Attachment')
    const processed = await deps.media.process(current, file)
    await deps.blobs.delete([incomingKey(row)]).catch((error: unknown) => {
      deps.log.warn({ err: error, attachment: row.id }, 'could not remove an upload after processing')
    })
    if (processed.state !== 'ready') throw rejection(processed)
    return processed
  } catch (error) {
    if (error instanceof ApiError) throw error
    // Not the file's fault: let the client complete again.
    await repository.update(row.id, { state: 'uploading', completed_at: null })
    const coded = storageError(error)
    if (coded instanceof ApiError) throw coded
    deps.log.error({ err: error, attachment: row.id }, 'processing an upload failed')
    throw errors.serviceUnavailable('The upload could not be processed now; complete it again shortly')
  } finally {
    await fs.promises.rm(file, { force: true })
  }
}

/**
 * Disk store only: takes a PUT to a signed `/media/upload/…` URL (the whole file, or one part),
 * streamed to disk, never buffered. Nothing is kept of a body cut off halfway or over its size.
 */
export async function receiveDiskUpload(
  deps: UploadDeps,
  store: DiskBlobStore,
  grant: Exclude<DiskGrant, { action: 'get' }>,
  body: IncomingMessage,
  declaredLength: number | null,
): Promise<{ size: number }> {
  if (!grant.key.endsWith(INCOMING_SUFFIX)) throw errors.forbidden('This URL takes no upload')
  const row = await new AttachmentRepository(deps.store.db).findByStorageKey(
    grant.key.slice(0, -INCOMING_SUFFIX.length),
  )
  if (!row) throw errors.forbidden('This upload no longer exists')
  if (row.state !== 'uploading') throw notUploading(row)
  let expected: number
  if (grant.action === 'put') {
    expected = grant.size
  } else {
    const count = partCountOf(row.declared_size)
    if (grant.uploadId !== row.upload_id || grant.partNumber > count)
      throw errors.forbidden('This part URL is not for this upload')
    expected =
      grant.partNumber < count ? UPLOAD_PART_BYTES : row.declared_size - UPLOAD_PART_BYTES * (count - 1)
  }
  if (declaredLength !== null && declaredLength > expected) throw errors.payloadTooLarge(expected)
  const limited = byteLimit(expected, () => errors.payloadTooLarge(expected))
  const source = body.pipe(limited)
  body.on('error', (error) => limited.destroy(error))
  // A dropped connection ends the request without an error on some Node versions: treat it as one, so
  // the cut-off bytes are thrown away rather than kept as a short file.
  body.on('close', () => {
    if (!body.complete) limited.destroy(new Error('the connection closed before the whole body arrived'))
  })
  try {
    const size =
      grant.action === 'put'
        ? await store.receiveWhole(grant.key, source, expected)
        : await store.writePart(grant.uploadId, grant.partNumber, source, expected)
    return { size }
  } catch (error) {
    // Read (and drop) what the client is still sending, so it gets to read the answer.
    body.unpipe(limited)
    body.resume()
    if (error instanceof UploadNotFound) throw errors.conflict('This upload was completed or abandoned')
    if (error instanceof SizeMismatch)
      throw errors.validation(`Expected ${error.expected} bytes, got ${error.received}; nothing was kept`, {
        expected: error.expected,
        received: error.received,
      })
    throw storageError(error)
  }
}

/**
 * A file name safe to store and show: no path, no control or bidi characters, at most 255 bytes.
 * Names are only ever shown (and sent in Content-Disposition), never used for a path.
 */
export function safeFileName(name: string): string | null {
  const base = name.split(/[/\\]/).pop() ?? ''
  const cleaned = base
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/["<>:|?*]/g, '_')
    .trim()
    .replace(/^\.+/, '')
  if (cleaned === '') return null
  let out = cleaned
  while (Buffer.byteLength(out) > 255) out = Array.from(out).slice(0, -1).join('')
  return out
}
