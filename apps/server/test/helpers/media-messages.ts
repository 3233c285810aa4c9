import { Readable } from 'node:stream'
import type { MediaKind } from '@parley/protocol'
import sharp from 'sharp'
import { ingestStream } from '../../src/media/ingest.ts'
import type { AttachmentRow } from '../../src/store/schema.ts'
import type { TestServer } from './server.ts'

/** A small real image, made for the test (every call a different picture when `seed` differs). */
export function image(
  format: 'png' | 'jpeg' = 'png',
  seed = 0,
  size = { width: 64, height: 48 },
): Promise<Buffer> {
  const background = { r: (seed * 37) % 256, g: (seed * 91) % 256, b: 120 }
  const picture = sharp({ create: { ...size, channels: 3, background } })
  return (format === 'png' ? picture.png() : picture.jpeg()).toBuffer()
}

/** A short mono 16-bit PCM WAV (a sine), as a recorded voice note would arrive. */
export function wav(samples = 1600): Buffer {
  const data = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin(i / 5) * 8000), i * 2)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVE', 8)
  header.write('fmt ', 12)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(8000, 24)
  header.writeUInt32LE(16000, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** A minimal PDF document. */
export const pdf = (): Buffer => Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')

export type FormEntry =
  | [name: string, value: string]
  | [name: string, file: Buffer, type: string, fileName: string]

/** Sends a multipart/form-data request as a browser or curl -F would, fields and files in order. */
export async function postForm(
  server: TestServer,
  token: string,
  path: string,
  entries: FormEntry[],
  method = 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData()
  for (const entry of entries) {
    if (entry.length === 2) form.append(entry[0], entry[1])
    else form.append(entry[0], new Blob([new Uint8Array(entry[1])], { type: entry[2] }), entry[3])
  }
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    body: form,
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/**
 * A ready attachment of `ownerId`, through the same ingest and pipeline as an upload (the direct-upload
 * API's complete step ends there too); for JSON sends that name `attachment_ids`.
 */
export function upload(
  server: TestServer,
  ownerId: number,
  bytes: Buffer,
  input: { kind: MediaKind; mime: string; fileName?: string },
): Promise<AttachmentRow> {
  return ingestStream(server.deps, {
    ownerId,
    kind: input.kind,
    declaredMime: input.mime,
    fileName: input.fileName ?? null,
    purpose: 'message',
    source: Readable.from([bytes]),
  })
}
