import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BlobNotFound, type BlobStore } from './blob-store.ts'

const SAFE_KEY = /^[a-z0-9][a-z0-9/_.-]{0,200}$/

/**
 * Blobs as files under `root` (the data dir's `media/`). A put writes a temporary file beside the
 * target and renames it into place, so a reader never sees half a file and a failed put leaves none.
 */
export class DiskBlobStore implements BlobStore {
  readonly kind = 'disk' as const

  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 })
  }

  /** The file of a key; keys are server-made, and checked here so none can leave the root. */
  pathOf(key: string): string {
    if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`unsafe blob key ${JSON.stringify(key)}`)
    return path.join(this.root, key)
  }

  async put(key: string, body: Readable, _options: { contentType: string }): Promise<{ size: number }> {
    const target = this.pathOf(key)
    await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
    const temporary = `${target}.${crypto.randomBytes(6).toString('hex')}.part`
    let size = 0
    body.on('data', (chunk: Buffer) => {
      size += chunk.length
    })
    try {
      await pipeline(body, fs.createWriteStream(temporary, { mode: 0o600, flags: 'wx' }))
      await fs.promises.rename(temporary, target)
    } catch (error) {
      await fs.promises.rm(temporary, { force: true })
      throw error
    }
    return { size }
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

  async close(): Promise<void> {}
}
