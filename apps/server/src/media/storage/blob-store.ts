import type { Readable } from 'node:stream'

/** How a signed download should be answered (the store or the disk route sets these headers). */
export interface SignedGetOptions {
  /** Seconds the URL stays valid. */
  ttl: number
  contentType: string
  /** A full Content-Disposition value (`inline` or `attachment; filename*=…`). */
  disposition: string
}

/** One part of a resumable upload that the store has received. */
export interface ReceivedPart {
  partNumber: number
  size: number
  etag: string
}

/**
 * Where media bytes live: local disk under the data dir (embedded default) or an S3-compatible bucket
 * (cluster). Keys are opaque, made by the server (never from a client's file name). Everything above
 * this interface is the same for both.
 *
 * Signed URLs let a client move bytes without the server in the path (S3), or through a route that
 * checks an HMAC instead of a session (disk). A URL the store returns may be relative (disk: a path on
 * this server); callers resolve it against the public base URL.
 */
export interface BlobStore {
  readonly kind: 'disk' | 's3'
  /**
   * Streams `body` in under `key`. Nothing is left under the key when it rejects (a size limit, a
   * dropped connection, a full disk).
   */
  put(key: string, body: Readable, options: { contentType: string }): Promise<{ size: number }>
  /** The whole object, or the inclusive byte range. Rejects with BlobNotFound when missing. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>
  /** The stored size, or null when there is no such object. */
  head(key: string): Promise<{ size: number } | null>
  /** Removes the objects; missing ones are not an error. */
  delete(keys: readonly string[]): Promise<void>
  /** A URL that answers GET with the object (Range honoured) until it expires. */
  signedGetUrl(key: string, options: SignedGetOptions): Promise<string>
  /** A URL that takes the whole object in one PUT of exactly `size` bytes until it expires. */
  signedPutUrl(key: string, options: { ttl: number; size: number }): Promise<string>
  /** Starts a resumable (multipart) upload of `key`; answers its id. */
  createMultipart(key: string): Promise<string>
  /** A URL that takes part `partNumber` (1-based) of the upload in one PUT until it expires. */
  signedPartUrl(key: string, uploadId: string, partNumber: number, options: { ttl: number }): Promise<string>
  /** The parts received so far, by part number; rejects with UploadNotFound when the upload is gone. */
  listParts(key: string, uploadId: string): Promise<ReceivedPart[]>
  /** Joins the parts (in order) into the object under `key`; the upload is gone afterwards. */
  completeMultipart(key: string, uploadId: string, parts: readonly ReceivedPart[]): Promise<void>
  /** Drops the upload and its parts; a missing one is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>
  close(): Promise<void>
}

export class BlobNotFound extends Error {
  constructor(readonly key: string) {
    super(`no blob ${key}`)
    this.name = 'BlobNotFound'
  }
}

export class UploadNotFound extends Error {
  constructor(readonly uploadId: string) {
    super(`no upload ${uploadId}`)
    this.name = 'UploadNotFound'
  }
}

/** Thrown by a store when it has no room (disk full, S3 quota); answered 507. */
export class StorageFull extends Error {
  constructor(cause: unknown) {
    super('the media store is full', { cause })
    this.name = 'StorageFull'
  }
}
