import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MediaKind, RejectReason } from '@parley/protocol'
import sharp from 'sharp'
import { thumbHashToApproximateAspectRatio } from 'thumbhash'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  animation,
  EICAR,
  noisyJpeg,
  photo,
  png,
  pngBomb,
  wav,
  zipOf,
} from '../../../test/helpers/media-files.ts'
import { processMedia } from './process-media.ts'
import { MediaRejected, type ProcessedMedia, type ProcessInput } from './types.ts'

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/media/', import.meta.url))
let root: string
let counter = 0

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-process-'))
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

interface Case {
  bytes: Buffer
  kind: MediaKind
  declaredMime: string
  fileName?: string | null
  purpose?: 'message' | 'avatar'
  maxPixels?: number
}

async function run(input: Case): Promise<ProcessedMedia> {
  counter += 1
  const file = path.join(root, `upload-${counter}`)
  const workDir = path.join(root, `work-${counter}`)
  fs.writeFileSync(file, input.bytes)
  fs.mkdirSync(workDir)
  const request: ProcessInput = {
    path: file,
    kind: input.kind,
    declaredMime: input.declaredMime,
    fileName: input.fileName ?? null,
    workDir,
    purpose: input.purpose ?? 'message',
    maxPixels: input.maxPixels ?? 40_000_000,
  }
  return processMedia(request)
}

async function rejection(input: Case): Promise<RejectReason> {
  const error = await run(input).then(
    () => null,
    (caught: unknown) => caught,
  )
  if (!(error instanceof MediaRejected)) throw new Error(`expected a MediaRejected, got ${String(error)}`)
  return error.reason
}

const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name))
const variant = (media: ProcessedMedia, name: string) => {
  const found = media.variants.find((candidate) => candidate.name === name)
  if (!found) throw new Error(`no ${name} variant`)
  return found
}

describe('images', () => {
  it('strips EXIF and GPS from every stored variant and keeps the picture', async () => {
    const input = await photo({ width: 1600, height: 900 })
    expect((await sharp(input).metadata()).exif, 'the test photo carries EXIF').toBeDefined()
    expect(input.includes(Buffer.from('ParleyTestCam')), 'and its camera name').toBe(true)

    const media = await run({
      bytes: input,
      kind: 'image',
      declaredMime: 'image/jpeg',
      fileName: 'IMG_1.jpg',
    })
    expect(media.mime).toBe('image/jpeg')
    expect(media.variants.map((v) => v.name).sort()).toEqual(['display', 'original', 'thumbnail'])
    for (const stored of media.variants) {
      const bytes = fs.readFileSync(stored.path)
      const meta = await sharp(bytes).metadata()
      expect(meta.exif, `${stored.name} has no EXIF`).toBeUndefined()
      expect(bytes.includes(Buffer.from('ParleyTestCam')), `${stored.name} has no camera name`).toBe(false)
      expect(bytes.includes(Buffer.from('secret-owner')), `${stored.name} has no copyright owner`).toBe(false)
    }
    // The left half is still red: the re-encoding kept the pixels.
    const { data } = await sharp(variant(media, 'thumbnail').path).raw().toBuffer({ resolveWithObject: true })
    expect(data[0]).toBeGreaterThan(200)
    expect(data[2]).toBeLessThan(60)
  })

  it('gives display ≤ 1200 px and thumbnail ≤ 300 px a side, width/height and a ThumbHash', async () => {
    const media = await run({
      bytes: await photo({ width: 2400, height: 1200 }),
      kind: 'image',
      declaredMime: 'image/jpeg',
    })
    expect([media.width, media.height]).toEqual([2400, 1200])
    expect([variant(media, 'original').width, variant(media, 'original').height]).toEqual([2400, 1200])
    expect([variant(media, 'display').width, variant(media, 'display').height]).toEqual([1200, 600])
    expect([variant(media, 'thumbnail').width, variant(media, 'thumbnail').height]).toEqual([300, 150])
    const hash = Buffer.from(media.placeholder ?? '', 'base64')
    expect(hash.length).toBeGreaterThan(5)
    expect(thumbHashToApproximateAspectRatio(hash)).toBeCloseTo(2, 0)
  })

  it('makes no display variant for an image that already fits', async () => {
    const media = await run({ bytes: await png(640, 480), kind: 'image', declaredMime: 'image/png' })
    expect(media.variants.map((v) => v.name).sort()).toEqual(['original', 'thumbnail'])
    expect(variant(media, 'original').mime).toBe('image/png')
  })

  it('turns a photo the way its EXIF orientation says, and reports the turned size', async () => {
    // Stored 800 × 400 (red left, blue right) with orientation 6: shown 400 × 800, red on top.
    const media = await run({
      bytes: await photo({ width: 800, height: 400, orientation: 6 }),
      kind: 'image',
      declaredMime: 'image/jpeg',
    })
    expect([media.width, media.height]).toEqual([400, 800])
    const original = variant(media, 'original')
    const meta = await sharp(original.path).metadata()
    expect([meta.width, meta.height]).toEqual([400, 800])
    expect(meta.orientation ?? 1).toBe(1)
    const { data, info } = await sharp(original.path).raw().toBuffer({ resolveWithObject: true })
    const pixel = (x: number, y: number) => data.subarray((y * info.width + x) * info.channels)
    expect(pixel(200, 50)[0], 'top is red').toBeGreaterThan(200)
    expect(pixel(200, 750)[2], 'bottom is blue').toBeGreaterThan(200)
  })

  it('keeps the animation of a GIF and a WebP in original and display; the thumbnail is the first frame', async () => {
    for (const format of ['gif', 'webp'] as const) {
      const media = await run({
        bytes: await animation(format, 1300, 200, 3),
        kind: 'gif',
        declaredMime: `image/${format}`,
      })
      expect([media.width, media.height]).toEqual([1300, 200])
      for (const name of ['original', 'display']) {
        const meta = await sharp(variant(media, name).path, { animated: true }).metadata()
        expect(meta.pages, `${format} ${name} frames`).toBe(3)
      }
      expect(variant(media, 'display').width).toBe(1200)
      const thumbnail = await sharp(variant(media, 'thumbnail').path, { animated: true }).metadata()
      expect(thumbnail.pages ?? 1).toBe(1)
      // The first frame is red.
      const { data } = await sharp(variant(media, 'thumbnail').path)
        .raw()
        .toBuffer({ resolveWithObject: true })
      expect(data[0]).toBeGreaterThan(200)
      expect(data[1]).toBeLessThan(60)
    }
  })

  it('makes square 150/300/600 avatars, centre-cropped, and no display/thumbnail', async () => {
    const media = await run({
      bytes: await photo({ width: 1000, height: 500 }),
      kind: 'image',
      declaredMime: 'image/jpeg',
      purpose: 'avatar',
    })
    expect(media.variants.map((v) => v.name).sort()).toEqual([
      'avatar_150',
      'avatar_300',
      'avatar_600',
      'original',
    ])
    for (const size of [150, 300, 600]) {
      const avatar = variant(media, `avatar_${size}`)
      const meta = await sharp(avatar.path).metadata()
      expect([meta.width, meta.height, avatar.width, avatar.height]).toEqual([size, size, size, size])
    }
    // Centre crop of red|blue: the avatar's left edge is red, its right edge blue.
    const { data, info } = await sharp(variant(media, 'avatar_300').path)
      .raw()
      .toBuffer({ resolveWithObject: true })
    expect(data[0]).toBeGreaterThan(200)
    expect(data[(info.width - 1) * info.channels + 2]).toBeGreaterThan(200)
  })

  it('refuses an image over the pixel limit without decoding it (too_many_pixels)', async () => {
    // A header claiming 20000 × 20000 = 400 MP in a few dozen bytes.
    const bomb = await pngBomb(20000, 20000)
    expect(await rejection({ bytes: bomb, kind: 'image', declaredMime: 'image/png' })).toBe('too_many_pixels')
    expect(
      await rejection({
        bytes: await png(200, 200),
        kind: 'image',
        declaredMime: 'image/png',
        maxPixels: 10_000,
      }),
    ).toBe('too_many_pixels')
  })

  it('refuses a truncated image (corrupt)', async () => {
    const whole = await noisyJpeg(300, 300)
    const truncated = whole.subarray(0, Math.floor(whole.length / 2))
    expect(await rejection({ bytes: truncated, kind: 'image', declaredMime: 'image/jpeg' })).toBe('corrupt')
    const pngWhole = await png(300, 300)
    expect(
      await rejection({
        bytes: pngWhole.subarray(0, pngWhole.length - 30),
        kind: 'image',
        declaredMime: 'image/png',
      }),
    ).toBe('corrupt')
  })

  it('refuses polyglots: a ZIP or a page appended to an image, markup in its first bytes', async () => {
    const jpeg = await photo({ width: 64, height: 64 })
    const zip = zipOf([{ name: 'payload.txt', data: Buffer.from('hello') }])
    const page = Buffer.from('<html><script>alert(1)</script></html>')
    expect(
      await rejection({ bytes: Buffer.concat([jpeg, zip]), kind: 'image', declaredMime: 'image/jpeg' }),
    ).toBe('polyglot')
    expect(
      await rejection({ bytes: Buffer.concat([jpeg, page]), kind: 'image', declaredMime: 'image/jpeg' }),
    ).toBe('polyglot')
    const pngBytes = await png(32, 32)
    expect(
      await rejection({ bytes: Buffer.concat([pngBytes, zip]), kind: 'image', declaredMime: 'image/png' }),
    ).toBe('polyglot')
    // Markup inside the image, in a JPEG comment near the start.
    const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, page.length + 2]), page])
    const withComment = Buffer.concat([jpeg.subarray(0, 2), comment, jpeg.subarray(2)])
    expect(await rejection({ bytes: withComment, kind: 'image', declaredMime: 'image/jpeg' })).toBe(
      'polyglot',
    )
    const gif = await animation('gif', 16, 16, 2)
    expect(
      await rejection({ bytes: Buffer.concat([gif, zip]), kind: 'gif', declaredMime: 'image/gif' }),
    ).toBe('polyglot')
  })

  it('accepts a clean image of every image kind', async () => {
    const webp = await sharp(await png(100, 100))
      .webp()
      .toBuffer()
    const sticker = await run({ bytes: webp, kind: 'sticker', declaredMime: 'image/webp' })
    expect(sticker.mime).toBe('image/webp')
    const gif = await run({
      bytes: await animation('gif', 50, 50, 1),
      kind: 'gif',
      declaredMime: 'image/gif',
    })
    expect(gif.mime).toBe('image/gif')
  })
})

describe('types', () => {
  it('refuses zero bytes (empty)', async () => {
    expect(await rejection({ bytes: Buffer.alloc(0), kind: 'image', declaredMime: 'image/png' })).toBe(
      'empty',
    )
    expect(
      await rejection({ bytes: Buffer.alloc(0), kind: 'document', declaredMime: 'application/pdf' }),
    ).toBe('empty')
  })

  it('refuses bytes that are not what was declared (type_mismatch)', async () => {
    expect(await rejection({ bytes: await png(10, 10), kind: 'image', declaredMime: 'image/jpeg' })).toBe(
      'type_mismatch',
    )
    expect(
      await rejection({ bytes: Buffer.from('just text'), kind: 'image', declaredMime: 'image/png' }),
    ).toBe('type_mismatch')
    expect(
      await rejection({ bytes: fixture('audio-2s.mp3'), kind: 'video', declaredMime: 'video/mp4' }),
    ).toBe('type_mismatch')
    const zip = zipOf([{ name: 'a.txt', data: Buffer.from('a') }])
    expect(await rejection({ bytes: zip, kind: 'document', declaredMime: 'application/pdf' })).toBe(
      'type_mismatch',
    )
  })

  it('refuses a type the kind does not take (type_not_allowed)', async () => {
    expect(await rejection({ bytes: await png(10, 10), kind: 'video', declaredMime: 'image/png' })).toBe(
      'type_not_allowed',
    )
    expect(
      await rejection({ bytes: fixture('video-320x240-1s.mp4'), kind: 'image', declaredMime: 'video/mp4' }),
    ).toBe('type_not_allowed')
    const jpeg = await photo({ width: 10, height: 10 })
    expect(await rejection({ bytes: jpeg, kind: 'sticker', declaredMime: 'image/jpeg' })).toBe(
      'type_not_allowed',
    )
  })

  it('refuses HTML, SVG (with script), XML and scripts for every kind, documents included', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    )
    const bareSvg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    const html = Buffer.from('\uFEFF  <!DOCTYPE html><html><body>hi</body></html>')
    for (const kind of ['document', 'image', 'sticker'] as const) {
      for (const [bytes, declared] of [
        [svg, 'image/svg+xml'],
        [svg, 'application/octet-stream'],
        [bareSvg, 'text/plain'],
        [html, 'text/html'],
        [html, 'text/plain'],
        [Buffer.from('#!/bin/sh\necho hi\n'), 'application/x-sh'],
        [Buffer.from('<?xml version="1.0"?><note/>'), 'text/xml'],
      ] as const) {
        expect(await rejection({ bytes, kind, declaredMime: declared }), `${kind} ${declared}`).toBe(
          'type_not_allowed',
        )
      }
    }
  })
})

describe('audio and video', () => {
  it('reads an MP4 video: dimensions and duration', async () => {
    const media = await run({
      bytes: fixture('video-320x240-1s.mp4'),
      kind: 'video',
      declaredMime: 'video/mp4',
    })
    expect(media).toMatchObject({
      mime: 'video/mp4',
      width: 320,
      height: 240,
      placeholder: null,
      waveform: null,
    })
    expect(media.durationMs).toBeGreaterThanOrEqual(950)
    expect(media.durationMs).toBeLessThanOrEqual(1100)
    expect(media.variants).toEqual([])
  })

  it('reads a silent MP4 (no audio track) from its movie header', async () => {
    const media = await run({
      bytes: fixture('video-silent-320x240-1s.mp4'),
      kind: 'video',
      declaredMime: 'video/mp4',
    })
    expect([media.width, media.height, media.durationMs]).toEqual([320, 240, 1000])
  })

  it('turns the size of a video whose track matrix is a quarter turn (a portrait phone video)', async () => {
    const bytes = Buffer.from(fixture('video-silent-320x240-1s.mp4'))
    const tkhd = bytes.indexOf('tkhd')
    // tkhd version 0: the matrix starts 40 bytes into the payload; 90° is {0, 1, 0; -1, 0, 0; ...}.
    const matrix = tkhd + 4 + 40
    bytes.writeInt32BE(0, matrix)
    bytes.writeInt32BE(0x00010000, matrix + 4)
    bytes.writeInt32BE(-0x00010000, matrix + 12)
    bytes.writeInt32BE(0, matrix + 16)
    const media = await run({ bytes, kind: 'video', declaredMime: 'video/mp4' })
    expect([media.width, media.height]).toEqual([240, 320])
  })

  it('reads a WebM video', async () => {
    const media = await run({
      bytes: fixture('video-160x120-1s.webm'),
      kind: 'video',
      declaredMime: 'video/webm',
    })
    expect([media.mime, media.width, media.height]).toEqual(['video/webm', 160, 120])
    expect(media.durationMs).toBeGreaterThanOrEqual(950)
  })

  it('reads audio durations (MP3, M4A as declared by recorders)', async () => {
    const mp3 = await run({ bytes: fixture('audio-2s.mp3'), kind: 'audio', declaredMime: 'audio/mpeg' })
    expect(mp3.mime).toBe('audio/mpeg')
    expect(mp3.durationMs).toBeGreaterThanOrEqual(1950)
    const m4a = await run({ bytes: fixture('audio-2s.m4a'), kind: 'audio', declaredMime: 'audio/x-m4a' })
    expect(m4a).toMatchObject({ mime: 'audio/mp4', width: null, height: null, waveform: null })
    expect(m4a.durationMs).toBeGreaterThanOrEqual(1950)
  })

  it('gives a voice note in Ogg Opus a duration and a 64-sample waveform that follows its loudness', async () => {
    const media = await run({ bytes: fixture('voice-2s.ogg'), kind: 'voice', declaredMime: 'audio/ogg' })
    expect(media.mime).toBe('audio/ogg')
    expect(media.durationMs).toBe(2000)
    const waveform = [...Buffer.from(media.waveform ?? '', 'base64')]
    expect(waveform).toHaveLength(64)
    expect(Math.max(...waveform)).toBe(255)
    const quiet = waveform.slice(4, 28)
    const loud = waveform.slice(36, 60)
    expect(Math.max(...quiet)).toBeLessThan(60) // 0.1 of full volume
    expect(Math.min(...loud)).toBeGreaterThan(180)
  })

  it('gives a WAV voice note a waveform (silence, then a tone)', async () => {
    const media = await run({
      bytes: wav(2, (t) => (t < 1 ? 0 : 0.8)),
      kind: 'voice',
      declaredMime: 'audio/wav',
    })
    expect(media.durationMs).toBe(2000)
    const waveform = [...Buffer.from(media.waveform ?? '', 'base64')]
    expect(waveform).toHaveLength(64)
    expect(waveform.slice(0, 30).every((sample) => sample === 0)).toBe(true)
    expect(waveform.slice(34).every((sample) => sample > 200)).toBe(true)
  })

  it('decodes a recorder-style WebM voice note (unknown sizes, no duration in its header)', async () => {
    // Written live (`-live 1`), like MediaRecorder: the Segment's size is unknown and no Duration.
    const media = await run({ bytes: fixture('voice-2s.webm'), kind: 'voice', declaredMime: 'audio/webm' })
    expect(media.mime).toBe('audio/webm')
    expect(media.durationMs).toBeGreaterThanOrEqual(1950)
    expect(media.durationMs).toBeLessThanOrEqual(2050)
    const waveform = [...Buffer.from(media.waveform ?? '', 'base64')]
    expect(waveform).toHaveLength(64)
    expect(Math.max(...waveform.slice(4, 28))).toBeLessThan(60)
    expect(Math.min(...waveform.slice(36, 60))).toBeGreaterThan(180)
  })

  it('gives an MP3 voice note a duration and no waveform (no MP3 decoder; documented)', async () => {
    const media = await run({ bytes: fixture('audio-2s.mp3'), kind: 'voice', declaredMime: 'audio/mpeg' })
    expect(media).toMatchObject({ mime: 'audio/mpeg', waveform: null })
    expect(media.durationMs).toBeGreaterThanOrEqual(1950)
  })

  it('refuses audio whose container is broken (corrupt)', async () => {
    const bytes = fixture('video-320x240-1s.mp4')
    // The ftyp box survives (the type sniffs as MP4); the rest is garbage.
    const broken = Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(64, 0xff)])
    expect(await rejection({ bytes: broken, kind: 'video', declaredMime: 'video/mp4' })).toBe('corrupt')
  })
})

describe('documents', () => {
  it('keeps a PDF and gives it a safe name', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
    const media = await run({
      bytes: pdf,
      kind: 'document',
      declaredMime: 'application/pdf',
      fileName: '../../etc/\u202Egnp.exe\u0007report.pdf',
    })
    expect(media).toMatchObject({ mime: 'application/pdf', fileName: 'gnp.exereport.pdf', variants: [] })
  })

  it('serves an undeclared or unknown type as opaque bytes, plain text as text', async () => {
    const text = await run({
      bytes: Buffer.from('hello, world\n'),
      kind: 'document',
      declaredMime: 'text/plain',
    })
    expect(text.mime).toBe('text/plain')
    const unknown = await run({
      bytes: Buffer.from([1, 2, 3, 4]),
      kind: 'document',
      declaredMime: 'application/x-foo',
    })
    expect(unknown.mime).toBe('application/octet-stream')
    const zip = zipOf([{ name: 'a.txt', data: Buffer.from('a') }])
    expect((await run({ bytes: zip, kind: 'document', declaredMime: 'application/octet-stream' })).mime).toBe(
      'application/zip',
    )
  })

  it('does not scan for viruses itself: EICAR in a document passes processing (clamd is the scanner)', async () => {
    const media = await run({ bytes: EICAR, kind: 'document', declaredMime: 'application/octet-stream' })
    expect(media.mime).toBe('application/octet-stream')
  })
})
