import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { UPLOAD_PART_BYTES, type UploadPartsResponse, type UploadStateResponse } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ingestStream } from '../src/media/ingest.ts'
import { createUser } from './helpers/factories.ts'
import { Api, bytesOf, pngImage, request } from './helpers/media.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

async function apiFor(server: TestServer): Promise<Api> {
  const user = await createUser(server)
  return new Api(server, user.auth.tokens.access_token)
}

const errorCode = (answer: { json<T>(): T }) =>
  answer.json<{ error: { code: string; details?: unknown } }>().error

describe.each(MODES)('direct uploads (%s)', (mode) => {
  let server: TestServer
  let ada: Api
  let bob: Api
  beforeAll(async () => {
    // Some tests move the clock by minutes: keep the test users' tokens alive across the jumps.
    const day = String(24 * 60 * 60)
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_ACCESS_TOKEN_TTL: day })
    ada = await apiFor(server)
    bob = await apiFor(server)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('sign → PUT → complete makes a ready attachment; complete again gives the same answer', async () => {
    const png = await pngImage()
    const signed = await ada.sign({ filename: 'cat.png', mime_type: 'image/png', size: png.length })
    expect(signed).toMatchObject({ success: true, method: 'PUT', expires_in: 300, part_count: 1 })
    expect(signed.attachment).toMatchObject({ state: 'uploading', kind: 'image', media_url: null })
    expect(new URL(signed.upload_url).protocol).toBe('http:')

    const before = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(before.status).toBe(409)
    expect(errorCode(before).code).toBe('conflict')

    const put = await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(png.length) },
      body: png,
    })
    expect(put.status).toBe(200)
    const first = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(first.status).toBe(200)
    const attachment = first.json<{ attachment: Record<string, unknown> }>().attachment
    expect(attachment).toMatchObject({
      id: signed.attachment_id,
      state: 'ready',
      mime_type: 'image/png',
      file_name: 'cat.png',
      width: 64,
      height: 48,
      media_url: `/api/media/${signed.attachment_id}`,
      thumbnail_url: `/api/media/${signed.attachment_id}/thumbnail`,
    })
    // The image is re-encoded without metadata: its size is what is stored, not what was sent.
    expect(attachment.size).toEqual(expect.any(Number))
    expect(attachment.size).toBeGreaterThan(0)
    const second = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(second.status).toBe(200)
    expect(second.json()).toEqual(first.json())
  })

  it('a complete cut off mid-processing (its node stopped) can be retried once it is stale', async () => {
    const png = await pngImage()
    const signed = await ada.sign({ filename: 'b.png', mime_type: 'image/png', size: png.length })
    const put = await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(png.length) },
      body: png,
    })
    expect(put.status).toBe(200)
    // What a node that died inside complete leaves behind.
    await server.deps.store.db
      .updateTable('attachments')
      .set({ state: 'processing', completed_at: server.clock.now() })
      .where('id', '=', signed.attachment_id)
      .execute()
    const busy = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(busy.status).toBe(409)
    server.clock.advance(11 * 60 * 1000)
    const retried = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(retried.status).toBe(200)
    expect(retried.json<{ attachment: { state: string } }>().attachment.state).toBe('ready')
  })

  it('someone else’s upload id is not found, for every upload route', async () => {
    const png = await pngImage()
    const signed = await ada.sign({ filename: 'a.png', mime_type: 'image/png', size: png.length })
    for (const [method, path, body] of [
      ['GET', `/api/upload/${signed.attachment_id}`, undefined],
      ['POST', `/api/upload/${signed.attachment_id}/parts`, { part_numbers: [1] }],
      ['POST', `/api/upload/${signed.attachment_id}/complete`, undefined],
    ] as const) {
      const answer = await bob.call(method, path, body)
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(errorCode(answer).code).toBe('not_found')
    }
  })

  it('a tampered or expired upload URL is refused with 403 and stores nothing', async () => {
    const png = await pngImage()
    const signed = await ada.sign({ filename: 'a.png', mime_type: 'image/png', size: png.length })
    const tampered = new URL(signed.upload_url)
    const signatureParam = mode === 'sqlite' ? 'sig' : 'X-Amz-Signature'
    const signature = tampered.searchParams.get(signatureParam) ?? ''
    tampered.searchParams.set(
      signatureParam,
      `${signature.slice(0, -2)}${signature.endsWith('aa') ? 'bb' : 'aa'}`,
    )
    const refused = await request(tampered.toString(), {
      method: 'PUT',
      headers: { 'content-length': String(png.length) },
      body: png,
    })
    expect(refused.status).toBe(403)
    const state = await ada.call('GET', `/api/upload/${signed.attachment_id}`)
    expect(state.json<UploadStateResponse>().upload.complete).toBe(false)

    if (mode === 'sqlite') {
      // The disk store's signatures follow the server's clock.
      server.clock.advance(301_000)
      const expired = await request(signed.upload_url, {
        method: 'PUT',
        headers: { 'content-length': String(png.length) },
        body: png,
      })
      expect(expired.status).toBe(403)
      expect(errorCode(expired).code).toBe('forbidden')
    }
  })

  it('refuses a file over its kind’s limit before any byte, and a body longer than signed', async () => {
    const tooBig = await ada.call('POST', '/api/upload/sign', {
      filename: 'huge.png',
      mime_type: 'image/png',
      size: 10 * 1024 * 1024 + 1,
    })
    expect(tooBig.status).toBe(413)
    expect(errorCode(tooBig).code).toBe('payload_too_large')

    const png = await pngImage()
    const signed = await ada.sign({ filename: 'a.png', mime_type: 'image/png', size: png.length - 10 })
    const longer = await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(png.length) },
      body: png,
    })
    expect(longer.status).toBeGreaterThanOrEqual(400)
    const complete = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(complete.status).toBe(409)
  })

  it('a file whose bytes are not its declared kind is rejected with a coded error, idempotently', async () => {
    const { signed, complete } = await ada.upload(
      Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj\n'),
      'x.png',
      'image/png',
    )
    expect(complete.status).toBe(415)
    expect(errorCode(complete).code).toBe('unsupported_media_type')
    const again = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(again.status).toBe(415)
    expect(again.json()).toEqual(complete.json())
  })

  it('resumes a large upload from its last complete part after a dropped connection', async () => {
    const size = 2 * UPLOAD_PART_BYTES + 1234
    const seed = crypto.randomBytes(64 * 1024)
    const whole = () => bytesOf(size, seed)
    const signed = await ada.sign({ filename: 'big.bin', mime_type: 'application/octet-stream', size })
    expect(signed.part_count).toBe(3)
    const parts = await ada.call('POST', `/api/upload/${signed.attachment_id}/parts`, {
      part_numbers: [1, 2, 3],
    })
    expect(parts.status).toBe(200)
    const urls = new Map(parts.json<UploadPartsResponse>().parts.map((part) => [part.part_number, part.url]))
    const partBytes = (n: number) => {
      const start = (n - 1) * UPLOAD_PART_BYTES
      const length = Math.min(UPLOAD_PART_BYTES, size - start)
      return function* () {
        let skipped = 0
        for (const chunk of whole()) {
          const chunkStart = skipped
          skipped += chunk.length
          if (skipped <= start) continue
          if (chunkStart >= start + length) return
          yield chunk.subarray(
            Math.max(0, start - chunkStart),
            Math.min(chunk.length, start + length - chunkStart),
          )
        }
      }
    }
    const lengthOf = (n: number) => Math.min(UPLOAD_PART_BYTES, size - (n - 1) * UPLOAD_PART_BYTES)
    const putPart = (n: number, dropAfter?: number) =>
      request(urls.get(n) ?? '', {
        method: 'PUT',
        headers: { 'content-length': String(lengthOf(n)) },
        body: partBytes(n),
        ...(dropAfter === undefined ? {} : { dropAfter }),
      })

    expect((await putPart(1)).status).toBe(200)
    // Part 2's connection drops halfway: it must not count, and part 1 must stay.
    await putPart(2, 3 * 1024 * 1024)
    const received = async () =>
      (await ada.call('GET', `/api/upload/${signed.attachment_id}`)).json<UploadStateResponse>().upload
        .parts_received
    // The server notices the dropped connection asynchronously: wait (bounded) for a stable answer.
    let state = await received()
    for (let tries = 0; tries < 50 && state.some((part) => part.part_number === 2); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      state = await received()
    }
    expect(state).toEqual([{ part_number: 1, size: UPLOAD_PART_BYTES }])
    const early = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(early.status).toBe(409)
    expect(errorCode(early).details).toEqual({ missing_parts: [2, 3] })

    // Resume: only the parts still missing.
    expect((await putPart(2)).status).toBe(200)
    expect((await putPart(3)).status).toBe(200)
    const done = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(done.status).toBe(200)
    expect(done.json<{ attachment: { state: string; size: number } }>().attachment).toMatchObject({
      state: 'ready',
      size,
    })
    const stored = await server.deps.blobs.get(
      (
        await server.deps.store.db
          .selectFrom('attachments')
          .select('storage_key')
          .where('id', '=', signed.attachment_id)
          .executeTakeFirstOrThrow()
      ).storage_key,
    )
    const hash = crypto.createHash('sha256')
    for await (const chunk of stored) hash.update(chunk as Buffer)
    const expected = crypto.createHash('sha256')
    for (const chunk of whole()) expected.update(chunk)
    expect(hash.digest('hex')).toBe(expected.digest('hex'))
  })

  it('keeps server memory far below the file size during a 100 MB upload', async () => {
    const size = 100 * 1024 * 1024
    const seed = crypto.randomBytes(64 * 1024)
    // An MP4 signature first, so the bytes are a video as far as sniffing goes.
    const header = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex')
    seed.set(header, 0)
    const signed = await ada.sign({ filename: 'clip.mp4', mime_type: 'video/mp4', size })
    let baseline = process.memoryUsage().rss
    let peak = baseline
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 20)
    try {
      const put = await request(signed.upload_url, {
        method: 'PUT',
        headers: { 'content-length': String(size) },
        body: () => bytesOf(size, seed, 256 * 1024),
      })
      expect(put.status).toBe(200)
      // With S3 the PUT goes to the store, not the server (only this test process sends it): the
      // server's share is the complete (a streamed download, then the pipeline's put in parts).
      if (mode !== 'sqlite') baseline = peak = process.memoryUsage().rss
      const complete = await ada.call('POST', `/api/upload/${signed.attachment_id}/complete`)
      // The pipeline decides whether these bytes make a video; what matters here is no 5xx.
      expect(complete.status).toBeLessThan(500)
    } finally {
      clearInterval(sampler)
    }
    const growth = peak - baseline
    console.info(`[${mode}] RSS growth during a 100 MB upload: +${(growth / 1024 / 1024).toFixed(1)} MB`)
    // A buffered body would add at least the file's size; streaming holds a few chunks (disk) or an
    // upload part or two (S3, 5 MiB parts).
    expect(growth).toBeLessThan(size / 3)
  })
})

describe.each(MODES)('upload limits (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, {
      ...NO_RATE_LIMITS,
      PARLEY_MEDIA_QUOTA_BYTES: '200000',
      PARLEY_UPLOADS_PER_MINUTE: '3',
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('refuses an upload over the quota (pending uploads count) before any byte', async () => {
    const ada = await apiFor(server)
    await ada.sign({ filename: 'a.bin', mime_type: 'application/pdf', size: 150_000 })
    const over = await ada.call('POST', '/api/upload/sign', {
      filename: 'b.bin',
      mime_type: 'application/pdf',
      size: 60_000,
    })
    expect(over.status).toBe(413)
    expect(errorCode(over)).toMatchObject({
      code: 'quota_exceeded',
      details: { quota: 200000, used: 150000 },
    })
  })

  it('a streamed (multipart) upload counts against the same quota', async () => {
    const carol = await createUser(server)
    const ingest = (bytes: Buffer) =>
      ingestStream(server.deps, {
        ownerId: carol.id,
        kind: 'document',
        declaredMime: 'application/octet-stream',
        fileName: 'notes.bin',
        purpose: 'message',
        source: Readable.from([bytes]),
      })
    const small = await ingest(crypto.randomBytes(1000))
    expect(small).toMatchObject({ state: 'ready', size: 1000 })
    await expect(ingest(crypto.randomBytes(199_500))).rejects.toMatchObject({
      status: 413,
      code: 'quota_exceeded',
    })
    const rows = await server.deps.store.db
      .selectFrom('attachments')
      .select('id')
      .where('owner_id', '=', carol.id)
      .execute()
    expect(rows).toHaveLength(1)
  })

  it('limits how many uploads a user starts per minute', async () => {
    const bob = await apiFor(server)
    const sign = () =>
      bob.call('POST', '/api/upload/sign', { filename: 'a.png', mime_type: 'image/png', size: 10 })
    for (let i = 0; i < 3; i++) expect((await sign()).status).toBe(201)
    const limited = await sign()
    expect(limited.status).toBe(429)
    expect(errorCode(limited).code).toBe('rate_limited')
    server.clock.advance(61_000)
    expect((await sign()).status).toBe(201)
  })
})
