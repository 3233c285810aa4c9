import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mediaHousekeeping } from '../src/jobs/media-housekeeping.ts'
import { incomingKey } from '../src/media/uploads.ts'
import { variantsOf } from '../src/presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../src/store/attachment.repository.ts'
import type { AttachmentRow } from '../src/store/schema.ts'
import { createUser, type TestUser } from './helpers/factories.ts'
import { Api, pngImage, request } from './helpers/media.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const HOUR = 60 * 60 * 1000

describe.each(MODES)('media housekeeping (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let api: Api
  beforeAll(async () => {
    const year = String(365 * 24 * 60 * 60)
    server = await startServer(mode, {
      ...NO_RATE_LIMITS,
      PARLEY_ACCESS_TOKEN_TTL: year,
      PARLEY_REFRESH_TOKEN_TTL: year,
    })
    ada = await createUser(server)
    api = new Api(server, ada.auth.tokens.access_token)
  })
  afterAll(async () => {
    await server?.close()
  })

  const rowOf = (id: number) => new AttachmentRepository(server.deps.store.db).findById(id)
  /** Every key the attachment's bytes live under: the original and each processed variant. */
  const keysOf = (row: AttachmentRow) => [
    row.storage_key,
    ...Object.values(variantsOf(row)).flatMap((variant) => (variant ? [variant.key] : [])),
  ]
  const storedBytes = (row: AttachmentRow) =>
    Object.entries(variantsOf(row)).reduce(
      (sum, [name, variant]) => sum + (variant && name !== 'original' ? variant.size : 0),
      row.size,
    )
  const ready = async () => {
    const { complete } = await api.upload(await pngImage(16, 16), 'p.png', 'image/png')
    expect(complete.status).toBe(200)
    const id = complete.json<{ attachment: { id: number } }>().attachment.id
    const row = await rowOf(id)
    if (!row) throw new Error('no row')
    return row
  }

  it('removes uploads never attached after a day (with their bytes), keeps what is referenced', async () => {
    const abandoned = await ready()
    const pending = await api.sign({ filename: 'x.bin', mime_type: 'application/pdf', size: 10 })
    const bob = await createUser(server)
    const { chat } = await ada.client.chats.open(bob.id)
    const message = await ada.client.messages.send(chat.id, {
      message_type: 'text',
      content: 'photo',
      client_msg_id: crypto.randomUUID(),
    })
    const attached = await ready()
    const attachments = new AttachmentRepository(server.deps.store.db)
    await attachments.attachToMessage(message.message.id, [attached.id], server.clock.now())
    const avatar = await ready()
    await server.deps.store.db
      .updateTable('users')
      .set({ avatar_attachment_id: avatar.id })
      .where('id', '=', ada.id)
      .execute()
    const fresh = await ready()

    server.clock.advance(23 * HOUR)
    expect((await mediaHousekeeping(server.deps)).removed).toBe(0)
    const younger = await ready()
    server.clock.advance(2 * HOUR)
    const outcome = await mediaHousekeeping(server.deps)
    expect(outcome.removed).toBe(3) // abandoned, pending, fresh
    // Images are stored with their processed variants (thumbnail, display): those go too.
    expect(outcome.bytes).toBe(storedBytes(abandoned) + storedBytes(fresh))
    for (const gone of [abandoned.id, pending.attachment_id, fresh.id])
      expect(await rowOf(gone)).toBeUndefined()
    for (const key of [...keysOf(abandoned), ...keysOf(fresh)])
      expect(await server.deps.blobs.head(key)).toBeNull()
    for (const kept of [attached, avatar, younger]) {
      expect(await rowOf(kept.id)).toBeDefined()
      expect(await server.deps.blobs.head(kept.storage_key)).toEqual({ size: kept.size })
    }

    // Deleted for everyone: nothing refers to it any more.
    await ada.client.messages.delete(message.message.id, { for: 'everyone' })
    await server.deps.store.db
      .updateTable('users')
      .set({ avatar_attachment_id: null })
      .where('id', '=', ada.id)
      .execute()
    const later = await mediaHousekeeping(server.deps)
    expect(later.removed).toBe(2)
    expect(await rowOf(attached.id)).toBeUndefined()
    for (const key of keysOf(attached)) expect(await server.deps.blobs.head(key)).toBeNull()
    expect(await rowOf(avatar.id)).toBeUndefined()
    expect(await rowOf(younger.id)).toBeDefined()
    expect((await mediaHousekeeping(server.deps)).removed).toBe(0)
  })

  it('drops an abandoned resumable upload with its parts', async () => {
    const signed = await api.sign({
      filename: 'big.bin',
      mime_type: 'application/pdf',
      size: 9 * 1024 * 1024,
    })
    const parts = await api.call('POST', `/api/upload/${signed.attachment_id}/parts`, { part_numbers: [1] })
    const url = parts.json<{ parts: Array<{ url: string }> }>().parts[0]?.url ?? ''
    const part = Buffer.alloc(8 * 1024 * 1024, 7)
    expect(
      (await request(url, { method: 'PUT', body: part, headers: { 'content-length': String(part.length) } }))
        .status,
    ).toBe(200)
    const row = await rowOf(signed.attachment_id)
    if (!row?.upload_id) throw new Error('no multipart upload')
    expect(await server.deps.blobs.listParts(incomingKey(row), row.upload_id)).toHaveLength(1)

    server.clock.advance(25 * HOUR)
    await mediaHousekeeping(server.deps)
    expect(await rowOf(signed.attachment_id)).toBeUndefined()
    await expect(server.deps.blobs.listParts(incomingKey(row), row.upload_id)).rejects.toThrow(/upload/)
  })

  it('counts uploads by outcome, rejects by reason, and bytes stored in /metrics', async () => {
    const bad = await api.upload(Buffer.from('not an image at all'), 'x.png', 'image/png')
    expect(bad.complete.status).toBe(415)
    await api.call('POST', '/api/upload/sign', {
      filename: 'h.png',
      mime_type: 'image/png',
      size: 11 * 1024 * 1024,
    })
    await ready()
    const metrics = (await request(`${server.url}/metrics`)).body.toString()
    expect(metrics).toMatch(/parley_media_uploads_total\{outcome="ready"\} [1-9]/)
    expect(metrics).toMatch(/parley_media_uploads_total\{outcome="rejected"\} [1-9]/)
    // Text declared as a PNG: the sniffed type is not the declared one.
    expect(metrics).toMatch(/parley_media_refusals_total\{reason="type_mismatch"\} 1/)
    expect(metrics).toMatch(/parley_media_refusals_total\{reason="payload_too_large"\} 1/)
    expect(metrics).toMatch(/parley_media_bytes_stored [1-9]/)
  })
})

/** A data dir on a tiny tmpfs, so the disk really fills up (needs root, as on CI and here). */
function tinyDataDir(): { dir: string; release(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-full-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir])
  return {
    dir,
    release() {
      execFileSync('umount', [dir])
      fs.rmdirSync(dir)
    },
  }
}

/** Every file under `dir` but the database's, relative. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => fs.statSync(path.join(dir, name)).isFile())
    .filter((name) => !name.startsWith('parley.db') && name !== 'jwt-secret')
    .sort()
}

describe.each(MODES)('a full disk (%s)', (mode) => {
  let tiny: ReturnType<typeof tinyDataDir>
  let server: TestServer
  beforeAll(async () => {
    tiny = tinyDataDir()
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_DATA_DIR: tiny.dir })
  })
  afterAll(async () => {
    await server?.close()
    tiny?.release()
  })

  it('answers 507 insufficient_storage with nothing half-stored, and the upload works once there is room', async () => {
    const ada = await createUser(server)
    const api = new Api(server, ada.auth.tokens.access_token)
    // Random pixels: a real PNG of about 1.5 MB (bytes appended after an image would be a polyglot).
    const bytes = await sharp(crypto.randomBytes(700 * 700 * 3), {
      raw: { width: 700, height: 700, channels: 3 },
    })
      .png()
      .toBuffer()
    expect(bytes.length).toBeGreaterThan(1_400_000)
    const signed = await api.sign({ filename: 'big.png', mime_type: 'image/png', size: bytes.length })
    const before = filesUnder(tiny.dir)
    // Leave less room than the file needs (the database keeps its own few pages).
    const filler = path.join(tiny.dir, 'filler')
    const free = () => {
      const stats = fs.statfsSync(tiny.dir)
      return stats.bavail * stats.bsize
    }
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 600_000)))

    const put = await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(bytes.length) },
      body: bytes,
    })
    let full = put
    if (mode !== 'sqlite') {
      // S3 took the bytes; the server runs out of room fetching them to process.
      expect(put.status).toBe(200)
      full = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    }
    expect(full.status).toBe(507)
    expect(full.json<{ error: { code: string } }>().error.code).toBe('insufficient_storage')
    expect(filesUnder(tiny.dir).filter((name) => name !== 'filler')).toEqual(before)

    fs.rmSync(filler)
    if (mode === 'sqlite') {
      const again = await request(signed.upload_url, {
        method: 'PUT',
        headers: { 'content-length': String(bytes.length) },
        body: bytes,
      })
      expect(again.status).toBe(200)
    }
    const done = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(done.status).toBe(200)
  })
})
