import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  BlobNotFound,
  type BlobStore,
  type ReceivedPart,
  type SignedGetOptions,
  StorageFull,
  UploadNotFound,
} from './blob-store.ts'

const SAFE_KEY = /^[a-z0-9][a-z0-9/_.-]{0,200}$/
const UPLOAD_ID = /^[a-f0-9]{32}$/
/** Resumable uploads' parts live here until complete; not a valid key, so no blob can collide. */
const UPLOADS_DIR = '.uploads'

/** What a signed disk URL allows, once its signature and expiry are checked. */
export type DiskGrant =
  | { action: 'get'; key: string; contentType: string; disposition: string; expiresAt: number }
  | { action: 'put'; key: string; size: number; expiresAt: number }
  | { action: 'part'; key: string; uploadId: string; partNumber: number; expiresAt: number }

export const DISK_BLOB_PATH = '/media/blob/'
export const DISK_UPLOAD_PATH = '/media/upload/'

/** A signed upload's body ended before the size it was signed for; nothing was kept. */
export class SizeMismatch extends Error {
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`expected ${expected} bytes, got ${received}`)
    this.name = 'SizeMismatch'
  }
}

/** Errors the file system gives when it has no room left. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/** Fails the stream as soon as it passes `limit` bytes. */
export function byteLimit(limit: number, tooLarge: () => Error): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      if (seen > limit) done(tooLarge())
      else done(null, chunk)
    },
  })
}

/**
 * Blobs as files under `root` (the data dir's `media/`). A put writes a temporary file beside the
 * target and renames it into place, so a reader never sees half a file and a failed put leaves none.
 * Signed URLs are Parley URLs (`/media/blob/…`, `/media/upload/…`) carrying an HMAC of what they allow
 * and until when; the routes check it with `verify` (no session needed, so `<img src>` works).
 */
export class DiskBlobStore implements BlobStore {
  readonly kind = 'disk' as const
  private readonly signingKey: Buffer

  constructor(
    private readonly root: string,
    secret: Uint8Array,
    private readonly now: () => number,
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 })
    // A key of its own, so a media signature can never pass for an access token's or the reverse.
    this.signingKey = crypto.createHmac('sha256', secret).update('parley media url v1').digest()
  }

  /** The file of a key; keys are server-made, and checked here so none can leave the root. */
  pathOf(key: string): string {
    if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`unsafe blob key ${JSON.stringify(key)}`)
    return path.join(this.root, key)
  }

  private uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFound(uploadId)
    return path.join(this.root, UPLOADS_DIR, uploadId)
  }

  async put(key: string, body: Readable, _options: { contentType: string }): Promise<{ size: number }> {
    const target = this.pathOf(key)
    const size = await this.writeAtomically(target, body)
    return { size }
  }

  /**
   * Streams `body` to a temporary file, then renames it to `target`; nothing is left on failure, nor
   * when `expectedSize` is given and the body ended short of it.
   */
  private async writeAtomically(target: string, body: Readable, expectedSize?: number): Promise<number> {
    let size = 0
    const temporary = `${target}.${crypto.randomBytes(6).toString('hex')}.part`
    try {
      await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
      body.on('data', (chunk: Buffer) => {
        size += chunk.length
      })
      await pipeline(body, fs.createWriteStream(temporary, { mode: 0o600, flags: 'wx' }))
      if (expectedSize !== undefined && size !== expectedSize) throw new SizeMismatch(expectedSize, size)
      await fs.promises.rename(temporary, target)
    } catch (error) {
      await fs.promises.rm(temporary, { force: true })
      if (isNoSpace(error)) throw new StorageFull(error)
      throw error
    }
    return size
  }

  /** A signed single PUT: the whole file, exactly `expectedSize` bytes, or nothing is kept. */
  async receiveWhole(key: string, body: Readable, expectedSize: number): Promise<number> {
    return this.writeAtomically(this.pathOf(key), body, expectedSize)
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathOf(key)
    try {
      const handle = await fs.promises.open(file, 'r')
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFound(key)
      throw error
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      return { size: (await fs.promises.stat(this.pathOf(key))).size }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => fs.promises.rm(this.pathOf(key), { force: true })))
  }

  async signedGetUrl(key: string, options: SignedGetOptions): Promise<string> {
    this.pathOf(key)
    return this.sign(DISK_BLOB_PATH, key, {
      exp: this.expiry(options.ttl),
      ct: options.contentType,
      cd: options.disposition,
    })
  }

  async signedPutUrl(key: string, options: { ttl: number; size: number }): Promise<string> {
    this.pathOf(key)
    return this.sign(DISK_UPLOAD_PATH, key, { exp: this.expiry(options.ttl), size: String(options.size) })
  }

  async createMultipart(key: string): Promise<string> {
    this.pathOf(key)
    const uploadId = crypto.randomBytes(16).toString('hex')
    try {
      await fs.promises.mkdir(this.uploadDir(uploadId), { recursive: true, mode: 0o700 })
    } catch (error) {
      if (isNoSpace(error)) throw new StorageFull(error)
      throw error
    }
    return uploadId
  }

  async signedPartUrl(
    key: string,
    uploadId: string,
    partNumber: number,
    options: { ttl: number },
  ): Promise<string> {
    this.pathOf(key)
    this.uploadDir(uploadId)
    return this.sign(DISK_UPLOAD_PATH, key, {
      exp: this.expiry(options.ttl),
      upload: uploadId,
      part: String(partNumber),
    })
  }

  /** Stores one part; a part only counts once all its bytes are in (written aside, then renamed). */
  async writePart(
    uploadId: string,
    partNumber: number,
    body: Readable,
    expectedSize: number,
  ): Promise<number> {
    const dir = this.uploadDir(uploadId)
    if (!fs.existsSync(dir)) throw new UploadNotFound(uploadId)
    return this.writeAtomically(path.join(dir, String(partNumber).padStart(5, '0')), body, expectedSize)
  }

  async listParts(_key: string, uploadId: string): Promise<ReceivedPart[]> {
    const dir = this.uploadDir(uploadId)
    let names: string[]
    try {
      names = await fs.promises.readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UploadNotFound(uploadId)
      throw error
    }
    const parts: ReceivedPart[] = []
    for (const name of names) {
      if (!/^\d{5}$/.test(name)) continue
      const { size, mtimeMs } = await fs.promises.stat(path.join(dir, name))
      parts.push({ partNumber: Number(name), size, etag: `${size}-${Math.floor(mtimeMs)}` })
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber)
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly ReceivedPart[]): Promise<void> {
    const dir = this.uploadDir(uploadId)
    const target = this.pathOf(key)
    const temporary = `${target}.${crypto.randomBytes(6).toString('hex')}.part`
    try {
      await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
      // One pipeline over every part in order: a pipeline per part into one stream would add a set of
      // listeners to it per part (MaxListenersExceededWarning past ten parts).
      const partFiles = parts.map((part) => path.join(dir, String(part.partNumber).padStart(5, '0')))
      async function* concatenated() {
        for (const file of partFiles) yield* fs.createReadStream(file)
      }
      await pipeline(concatenated, fs.createWriteStream(temporary, { mode: 0o600, flags: 'wx' }))
      await fs.promises.rename(temporary, target)
    } catch (error) {
      await fs.promises.rm(temporary, { force: true })
      if (isNoSpace(error)) throw new StorageFull(error)
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UploadNotFound(uploadId)
      throw error
    }
    await fs.promises.rm(dir, { recursive: true, force: true })
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    await fs.promises.rm(this.uploadDir(uploadId), { recursive: true, force: true })
  }

  async close(): Promise<void> {}

  /**
   * What a signed URL allows, or null when its signature is wrong, it has expired, or it is not a URL
   * this store made. `key` is the path after the route's prefix; `query` its query string.
   */
  verify(prefix: string, key: string, query: Record<string, string | undefined>): DiskGrant | null {
    const sig = query.sig
    const exp = Number(query.exp)
    if (typeof sig !== 'string' || !Number.isInteger(exp)) return null
    if (!SAFE_KEY.test(key) || key.includes('..')) return null
    const params: Record<string, string> = {}
    for (const name of ['exp', 'ct', 'cd', 'size', 'upload', 'part']) {
      const value = query[name]
      if (typeof value === 'string') params[name] = value
    }
    const expected = this.signature(prefix, key, params)
    const given = Buffer.from(sig, 'base64url')
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null
    if (exp * 1000 <= this.now()) return null
    const expiresAt = exp * 1000
    if (prefix === DISK_BLOB_PATH && params.ct !== undefined && params.cd !== undefined)
      return { action: 'get', key, contentType: params.ct, disposition: params.cd, expiresAt }
    if (prefix === DISK_UPLOAD_PATH && params.size !== undefined)
      return { action: 'put', key, size: Number(params.size), expiresAt }
    if (prefix === DISK_UPLOAD_PATH && params.upload !== undefined && params.part !== undefined)
      return { action: 'part', key, uploadId: params.upload, partNumber: Number(params.part), expiresAt }
    return null
  }

  private expiry(ttlSeconds: number): string {
    return String(Math.floor(this.now() / 1000) + ttlSeconds)
  }

  private sign(prefix: string, key: string, params: Record<string, string>): string {
    const query = new URLSearchParams(params)
    query.set('sig', this.signature(prefix, key, params).toString('base64url'))
    return `${prefix}${key}?${query.toString()}`
  }

  private signature(prefix: string, key: string, params: Record<string, string>): Buffer {
    // Every field is length-prefixed, so no two different grants share a canonical string.
    const fields = [
      prefix,
      key,
      ...Object.keys(params)
        .sort()
        .flatMap((name) => [name, params[name] ?? '']),
    ]
    const canonical = fields.map((field) => `${Buffer.byteLength(field)}:${field}`).join('')
    return crypto.createHmac('sha256', this.signingKey).update(canonical).digest()
  }
}
