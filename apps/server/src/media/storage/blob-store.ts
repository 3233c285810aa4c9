import type { Readable } from 'node:stream'

/**
 * Where media bytes live: local disk under the data dir (embedded default) or an S3-compatible bucket
 * (cluster). Keys are opaque, made by the server (never from a client's file name). Everything above
 * this interface is the same for both.
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
  close(): Promise<void>
}

export class BlobNotFound extends Error {
  constructor(readonly key: string) {
    super(`no blob ${key}`)
    this.name = 'BlobNotFound'
  }
}
