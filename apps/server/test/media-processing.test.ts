import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import type { MediaKind } from '@parley/protocol'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../src/errors.ts'
import { ingestStream } from '../src/media/ingest.ts'
import { createPipeline } from '../src/media/pipeline.ts'
import type { StoredVariants } from '../src/presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../src/store/attachment.repository.ts'
import type { AttachmentRow } from '../src/store/schema.ts'
import { createUser, type TestUser } from './helpers/factories.ts'
import { EICAR, noisyJpeg, photo, zipOf } from './helpers/media-files.ts'
import { text } from './helpers/messaging.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/**
 * The real pipeline behind ingestStream (what multipart sends and avatars use) against a real test
 * server's database, blob store and clamd: what is stored, what is refused, and that image work never
 * holds up the request path.
 */
describe.each(MODES)('media processing (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser

  beforeAll(async () => {
    server = await startServer(mode, {
      PARLEY_RATE_LIMIT_PER_USER: '100000',
      PARLEY_RATE_LIMIT_PER_IP: '100000',
    })
    ada = await createUser(server)
  })
  afterAll(async () => {
    await server?.close()
  })

  const ingest = (
    bytes: Buffer,
    options: { kind: MediaKind; declaredMime: string; fileName?: string; purpose?: 'message' | 'avatar' },
    deps = server.deps,
  ) =>
    ingestStream(deps, {
      ownerId: ada.id,
      kind: options.kind,
      declaredMime: options.declaredMime,
      fileName: options.fileName ?? null,
      purpose: options.purpose ?? 'message',
      source: Readable.from([bytes]),
    })

  /** The coded error a refused upload answers, as the HTTP layer would send it. */
  const refusal = async (upload: Promise<unknown>) => {
    const error = await upload.then(
      () => null,
      (caught: unknown) => caught,
    )
    if (!(error instanceof ApiError)) throw new Error(`expected a coded refusal, got ${String(error)}`)
    return {
      status: error.status,
      code: error.code,
      reason: (error.details as { reason?: string } | undefined)?.reason,
    }
  }

  const newestRow = async (): Promise<AttachmentRow> => {
    const row = await server.deps.store.db
      .selectFrom('attachments')
      .selectAll()
      .where('owner_id', '=', ada.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
    return row
  }

  const stored = async (key: string) => buffer(await server.deps.blobs.get(key))

  it('stores the image re-encoded without EXIF/GPS, with its variants, and the row ready', async () => {
    const upload = await photo({ width: 2000, height: 1000 })
    const row = await ingest(upload, {
      kind: 'image',
      declaredMime: 'image/jpeg',
      fileName: '../IMG_0001.JPG',
    })
    expect(row).toMatchObject({
      state: 'ready',
      mime: 'image/jpeg',
      width: 2000,
      height: 1000,
      file_name: 'IMG_0001.JPG',
    })
    expect(row.placeholder).toMatch(/^[A-Za-z0-9+/]+=*$/)

    // The uploaded bytes are never what is stored: the original is the re-encoded one.
    const original = await stored(row.storage_key)
    expect(original.equals(upload)).toBe(false)
    expect(row.size).toBe(original.length)
    expect((await sharp(original).metadata()).exif).toBeUndefined()
    expect(original.includes(Buffer.from('ParleyTestCam'))).toBe(false)

    const variants = JSON.parse(row.variants ?? '{}') as StoredVariants
    expect(Object.keys(variants).sort()).toEqual(['display', 'original', 'thumbnail'])
    expect(variants.original?.key).toBe(row.storage_key)
    for (const [name, variant] of Object.entries(variants)) {
      if (!variant) continue
      expect(variant.key.startsWith(row.storage_key), name).toBe(true)
      const bytes = await stored(variant.key)
      expect(bytes.length, `${name} size`).toBe(variant.size)
      const meta = await sharp(bytes).metadata()
      expect([meta.width, meta.height], `${name} dimensions`).toEqual([variant.width, variant.height])
      expect(meta.exif, `${name} EXIF`).toBeUndefined()
      expect(bytes.includes(Buffer.from('secret-owner')), `${name} copyright`).toBe(false)
    }
    expect(Math.max(variants.display!.width!, variants.display!.height!)).toBe(1200)
    expect(Math.max(variants.thumbnail!.width!, variants.thumbnail!.height!)).toBe(300)
  })

  it('stores avatar sizes for an avatar upload', async () => {
    const upload = await photo({ width: 900, height: 600 })
    // An attachment row as ingest makes it, then the pipeline told the purpose (ingestStream forwards
    // its `purpose` as this option).
    const row = await ingest(upload, { kind: 'image', declaredMime: 'image/jpeg' })
    const repository = new AttachmentRepository(server.deps.store.db)
    await repository.update(row.id, { state: 'processing', variants: null })
    const local = path.join(server.deps.config.dataDir, 'avatar-upload.jpg')
    await fs.promises.writeFile(local, upload)
    const avatar = await server.deps.media.process(row, local, { purpose: 'avatar' })
    const variants = JSON.parse(avatar.variants ?? '{}') as StoredVariants
    expect(Object.keys(variants).sort()).toEqual(['avatar_150', 'avatar_300', 'avatar_600', 'original'])
    for (const size of [150, 300, 600]) {
      const meta = await sharp(await stored(variants[`avatar_${size}`]!.key)).metadata()
      expect([meta.width, meta.height]).toEqual([size, size])
    }
  })

  it('refuses EICAR and zipped EICAR as infected, and stores nothing', async () => {
    expect(server.deps.config.clamavUrl, 'test servers scan with PARLEY_TEST_CLAMAV_URL').not.toBeNull()
    for (const [bytes, declared] of [
      [EICAR, 'application/octet-stream'],
      [
        zipOf([
          { name: 'notes.txt', data: Buffer.from('hi') },
          { name: 'eicar.com', data: EICAR },
        ]),
        'application/zip',
      ],
    ] as const) {
      expect(
        await refusal(ingest(bytes, { kind: 'document', declaredMime: declared, fileName: 'x' })),
      ).toEqual({
        status: 422,
        code: 'media_rejected',
        reason: 'infected',
      })
      const row = await newestRow()
      expect(row).toMatchObject({ state: 'rejected', reject_reason: 'infected', variants: null })
      expect(await server.deps.blobs.head(row.storage_key)).toBeNull()
    }
  })

  it('answers bad bytes with coded errors and stores nothing', async () => {
    const jpeg = await photo({ width: 64, height: 64 })
    const cases = [
      {
        bytes: Buffer.concat([jpeg, zipOf([{ name: 'a', data: Buffer.from('a') }])]),
        kind: 'image' as const,
        declared: 'image/jpeg',
        expected: { status: 422, code: 'media_rejected', reason: 'polyglot' },
      },
      {
        bytes: jpeg,
        kind: 'image' as const,
        declared: 'image/png',
        expected: { status: 415, code: 'unsupported_media_type', reason: 'type_mismatch' },
      },
      {
        bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        kind: 'document' as const,
        declared: 'image/svg+xml',
        expected: { status: 415, code: 'unsupported_media_type', reason: 'type_not_allowed' },
      },
      {
        bytes: jpeg.subarray(0, Math.floor(jpeg.length * 0.6)),
        kind: 'image' as const,
        declared: 'image/jpeg',
        expected: { status: 422, code: 'media_rejected', reason: 'corrupt' },
      },
    ]
    for (const { bytes, kind, declared, expected } of cases) {
      expect(await refusal(ingest(bytes, { kind, declaredMime: declared })), expected.reason).toEqual(
        expected,
      )
      const row = await newestRow()
      expect(row).toMatchObject({ state: 'rejected', reject_reason: expected.reason })
      expect(await server.deps.blobs.head(row.storage_key)).toBeNull()
    }
  })

  it('fails an upload with 503 when clamd is unreachable: never stored unscanned', async () => {
    const unscannable = createPipeline({
      ...server.deps,
      config: { ...server.deps.config, clamavUrl: 'tcp://127.0.0.1:1' },
    })
    const before = await newestRow()
    expect(
      await refusal(
        ingest(
          await photo({ width: 32, height: 32 }),
          { kind: 'image', declaredMime: 'image/jpeg' },
          {
            ...server.deps,
            media: unscannable,
          },
        ),
      ),
    ).toEqual({ status: 503, code: 'service_unavailable', reason: undefined })
    // Not the file's fault: the row is removed (nothing half-stored, the client sends again), and
    // neither the original nor any variant was written.
    expect((await newestRow()).id).toBe(before.id)
    await unscannable.close()
  })

  it('answers a text message while a burst of image processing is still queued', async () => {
    const bob = await createUser(server)
    const { chat } = await ada.client.chats.open(bob.id)
    const images = await Promise.all(Array.from({ length: 5 }, () => noisyJpeg(1000, 800)))
    const concurrency = server.deps.config.mediaProcessingConcurrency
    let settled = 0
    let maxRunning = 0
    let maxQueued = 0
    const sample = async () => {
      maxRunning = Math.max(maxRunning, (await server.deps.media.metrics.running.get()).values[0]?.value ?? 0)
      maxQueued = Math.max(maxQueued, (await server.deps.media.metrics.queued.get()).values[0]?.value ?? 0)
    }
    const burst = images.map((bytes) =>
      ingest(bytes, { kind: 'image', declaredMime: 'image/jpeg' }).finally(() => {
        settled += 1
      }),
    )
    // Wait (bounded) until the burst is in the pipeline: jobs running and others waiting for a slot.
    for (let tries = 0; tries < 400 && maxQueued === 0; tries++) {
      await sample()
      if (maxQueued === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(maxQueued, 'uploads waiting for a processing slot').toBeGreaterThan(0)

    const { message } = await ada.client.messages.send(chat.id, text('still here'))
    const settledWhenAnswered = settled
    await sample()
    expect(message.content).toBe('still here')
    // The ordering that matters: the text send answered while image work was still pending.
    expect(settledWhenAnswered).toBeLessThan(images.length)

    const rows = await Promise.all(burst)
    expect(rows.every((row) => row.state === 'ready')).toBe(true)
    expect(maxRunning).toBeLessThanOrEqual(concurrency)
  }, 120_000)

  it('counts processing time by outcome and rejects by reason in /metrics', async () => {
    const response = await fetch(`${server.url}/metrics`)
    expect(response.status).toBe(200)
    const body = await response.text()
    expect(body).toMatch(/parley_media_rejects_total\{reason="infected"\} 2/)
    expect(body).toMatch(/parley_media_rejects_total\{reason="polyglot"\} 1/)
    expect(body).toMatch(/parley_media_processing_seconds_count\{kind="image",outcome="ready"\} [1-9]/)
    expect(body).toMatch(/parley_media_processing_queued 0/)
  })
})
