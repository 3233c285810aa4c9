import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { nowMs } from './load.ts'
import type { BenchUser } from './population.ts'
import type { StepResult } from './report.ts'
import { type LatencySummary, round, Samples } from './stats.ts'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** A real 1 s MP4; the bench's large upload is it followed by a `free` box of padding (a valid MP4). */
const MP4_FIXTURE = path.join(repoRoot, 'apps/server/test/fixtures/media/video-320x240-1s.mp4')

/** What the media scenario measured while its uploaders ran next to the text senders. */
export interface MediaResult {
  uploaders: number
  /** Images that came back ready from `complete`, per second of the media window. */
  images_ready: number
  images_per_s: number
  image_bytes_avg: number
  /** SDK upload call → ready: sign, PUT, complete (which answers once processing is done). */
  upload_to_ready_ms: LatencySummary
  /** The image messages sent with the ready attachments (REST). */
  image_messages_sent: number
  large_upload: { bytes: number; ms: number; state: string } | null
  errors: Record<string, number>
}

export interface MediaRun {
  text_only: StepResult
  with_media: StepResult
  media: MediaResult
}

/**
 * A few distinct photo-like JPEGs of about `megapixels` MP (noise over a colour, so they neither
 * compress to nothing nor take long to make), generated once in memory.
 */
export async function makeImages(count: number, megapixels: number): Promise<Buffer[]> {
  const width = Math.round(Math.sqrt(megapixels * 1e6 * (4 / 3)))
  const height = Math.round((width * 3) / 4)
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      sharp({
        create: {
          width,
          height,
          channels: 3,
          background: { r: (index * 67) % 256, g: (index * 131) % 256, b: (index * 199) % 256 },
          noise: { type: 'gaussian', mean: 120 + index * 10, sigma: 25 },
        },
      })
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
  )
}

/** `megabytes` MB of MP4: the fixture, then one `free` box (skipped by readers) filling the rest. */
export function largeVideo(megabytes: number): Blob {
  const head = fs.readFileSync(MP4_FIXTURE)
  const total = megabytes * 1024 * 1024
  const padding = total - head.length
  const box = Buffer.alloc(8)
  box.writeUInt32BE(padding, 0)
  box.write('free', 4, 'latin1')
  const zeros = new Uint8Array(1024 * 1024)
  const parts: BlobPart[] = [new Uint8Array(head), new Uint8Array(box)]
  let left = padding - box.length
  for (; left >= zeros.length; left -= zeros.length) parts.push(zeros)
  parts.push(zeros.subarray(0, left))
  return new Blob(parts, { type: 'video/mp4' })
}

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1)
const codeOf = (error: unknown) => (error as { code?: string }).code ?? (error as Error).name ?? 'error'

/**
 * Closed-loop uploaders: each sends an image through the SDK upload client (sign → PUT → complete),
 * then an image message holding it, and starts the next, until `stop()`; meanwhile another user
 * uploads `large` (if given) once. `stop()` waits for the uploads in flight and answers the figures.
 */
export function startUploaders(
  uploaders: Array<{ user: BenchUser; chatId: number }>,
  images: Buffer[],
  large: { user: BenchUser; video: Blob } | null,
): { stop(): Promise<MediaResult> } {
  let running = true
  const started = nowMs()
  const readyTimes = new Samples()
  const errors = new Map<string, number>()
  let ready = 0
  let bytes = 0
  let messages = 0
  let largeResult: MediaResult['large_upload'] = null
  const blobs = images.map((image) => new Blob([new Uint8Array(image)], { type: 'image/jpeg' }))
  const largeLane = async ({ user, video }: { user: BenchUser; video: Blob }) => {
    const t0 = nowMs()
    try {
      const attachment = await user.rest.media.upload(video, { kind: 'video', filename: 'large.mp4' })
      largeResult = { bytes: video.size, ms: round(nowMs() - t0), state: attachment.state }
    } catch (error) {
      count(errors, `large:${codeOf(error)}`)
      largeResult = { bytes: video.size, ms: round(nowMs() - t0), state: `error ${codeOf(error)}` }
    }
  }
  const lane = async ({ user, chatId }: { user: BenchUser; chatId: number }, index: number) => {
    for (let n = index; running; n++) {
      const blob = blobs[n % blobs.length] as Blob
      const t0 = nowMs()
      try {
        const attachment = await user.rest.media.upload(blob, { kind: 'image', filename: `bench-${n}.jpg` })
        if (!running) break
        readyTimes.add(nowMs() - t0)
        ready++
        bytes += blob.size
        await user.rest.messages.send(chatId, {
          message_type: 'image',
          attachment_ids: [attachment.id],
          content: 'bench media',
        })
        messages++
      } catch (error) {
        count(errors, codeOf(error))
      }
    }
  }
  const lanes = Promise.all([...(large ? [largeLane(large)] : []), ...uploaders.map(lane)])
  return {
    async stop() {
      running = false
      const seconds = (nowMs() - started) / 1000
      // Uploads in flight finish (images: uncounted) so the server is left quiet; the large one counts.
      await lanes
      return {
        uploaders: uploaders.length,
        images_ready: ready,
        images_per_s: round(ready / seconds),
        image_bytes_avg: ready === 0 ? 0 : Math.round(bytes / ready),
        upload_to_ready_ms: readyTimes.summary(),
        image_messages_sent: messages,
        large_upload: largeResult,
        errors: Object.fromEntries(errors),
      }
    },
  }
}

export function describeMedia(run: MediaRun): string {
  const { media, text_only: before, with_media: during } = run
  const mb = (value: number) => `${(value / 2 ** 20).toFixed(0)} MB`
  const lines = [
    `  images ready: ${media.images_ready} (${media.images_per_s}/s, ${media.uploaders} uploaders, avg ${mb(media.image_bytes_avg)} each), image messages ${media.image_messages_sent}`,
    `  upload → ready ms: p50 ${media.upload_to_ready_ms.p50} · p99 ${media.upload_to_ready_ms.p99} · max ${media.upload_to_ready_ms.max}`,
    `  text latency ms without media: p50 ${before.latency_ms.p50} · p99 ${before.latency_ms.p99} (delivered ${before.delivered}/${before.expected_deliveries})`,
    `  text latency ms with media:    p50 ${during.latency_ms.p50} · p99 ${during.latency_ms.p99} (delivered ${during.delivered}/${during.expected_deliveries})`,
    `  server RSS peak: ${mb(before.server_rss_bytes_max)} without media, ${mb(during.server_rss_bytes_max)} with media` +
      (media.large_upload
        ? ` (incl. a ${mb(media.large_upload.bytes)} video upload: ${media.large_upload.state} in ${media.large_upload.ms} ms)`
        : ''),
  ]
  if (Object.keys(media.errors).length > 0) lines.push(`  media errors: ${JSON.stringify(media.errors)}`)
  return lines.join('\n')
}
