import fs from 'node:fs'
import path from 'node:path'
import sharp, { type OutputInfo, type Sharp } from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'
import { findPolyglot } from './polyglot.ts'
import { MediaRejected, type ProcessedVariant, type VariantName } from './types.ts'

/** Longest side of the `display` variant (what a conversation shows) and of the `thumbnail`. */
export const DISPLAY_MAX = 1200
export const THUMBNAIL_MAX = 300
export const AVATAR_SIZES = [150, 300, 600] as const

export interface ProcessedImage {
  width: number
  height: number
  placeholder: string
  variants: ProcessedVariant[]
}

interface ImageInput {
  path: string
  mime: string
  workDir: string
  purpose: 'message' | 'avatar'
  maxPixels: number
}

/** Output encoders: the source's own format (animation kept), JPEG at a quality that hides its artefacts. */
function encode(pipeline: Sharp, mime: string): Sharp {
  switch (mime) {
    case 'image/png':
      return pipeline.png({ compressionLevel: 8 })
    case 'image/gif':
      return pipeline.gif()
    case 'image/webp':
      return pipeline.webp({ quality: 85 })
    default:
      return pipeline.jpeg({ quality: 85, mozjpeg: false })
  }
}

/**
 * Sharp's errors are strings from libvips; these are the ones that mean the bytes, not the machine.
 * Anything else (out of memory, a missing work dir) is an infrastructure failure and propagates.
 */
function asRejection(error: unknown): MediaRejected | null {
  const message = error instanceof Error ? error.message : String(error)
  if (/pixel limit/i.test(message))
    return new MediaRejected('too_many_pixels', 'the image has too many pixels')
  if (
    /premature end|truncated|corrupt|invalid|unsupported image format|bad |not a known file|read error|VipsJpeg|gifload|pngload|webpload|jpegload|Input buffer|Input file/i.test(
      message,
    )
  )
    return new MediaRejected('corrupt', 'the image could not be decoded')
  return null
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw asRejection(error) ?? error
  }
}

/**
 * Decodes, checks and re-encodes an image: metadata (EXIF, GPS, XMP, comments) never survives, the
 * picture is turned the way its EXIF orientation says, and the variants a client needs are written to
 * the work dir. All pixel work runs in libvips on libuv's thread pool, off the event loop.
 */
export async function processImage(input: ImageInput): Promise<ProcessedImage> {
  const bytes = await fs.promises.readFile(input.path)
  const polyglot = findPolyglot(bytes, input.mime)
  if (polyglot) throw new MediaRejected('polyglot', `the image carries something else (${polyglot})`)

  const options = { limitInputPixels: input.maxPixels, failOn: 'error' as const }
  const meta = await guarded(() => sharp(bytes, options).metadata())
  const pages = meta.pages ?? 1
  const pageHeight = meta.pageHeight ?? meta.height
  // Header dimensions, before decoding: a bomb is refused without allocating its pixels.
  if (meta.width * pageHeight * pages > input.maxPixels)
    throw new MediaRejected('too_many_pixels', 'the image has too many pixels')
  const animated = pages > 1 && input.purpose === 'message'
  const source = () => sharp(bytes, { ...options, animated }).autoOrient()
  const firstFrame = () => sharp(bytes, options).autoOrient()
  const variants: ProcessedVariant[] = []
  const write = async (name: VariantName, pipeline: Sharp, mime: string): Promise<OutputInfo> => {
    const file = path.join(input.workDir, name)
    const info = await guarded(() => encode(pipeline, mime).toFile(file))
    // An animation is written as one tall strip of frames; a frame is what a client shows.
    const frames = animated && (name === 'original' || name === 'display') ? pages : 1
    const height = info.pageHeight ?? Math.round(info.height / frames)
    variants.push({ name, path: file, mime, size: info.size, width: info.width, height })
    return info
  }

  // Without withMetadata()/keepExif() sharp writes no EXIF, XMP or comments: that is the stripping. The
  // original decodes every pixel first, so truncated or corrupt data fails here (failOn 'error').
  const original = await write('original', source(), input.mime)
  const width = original.width
  const height = variants[0]!.height!

  // Stills become JPEG (or WebP when they may be transparent); animations keep their format.
  const stillMime = input.mime === 'image/jpeg' ? 'image/jpeg' : 'image/webp'
  if (input.purpose === 'avatar') {
    for (const size of AVATAR_SIZES) {
      await write(
        `avatar_${size}` as VariantName,
        firstFrame().resize(size, size, { fit: 'cover', position: 'centre' }),
        stillMime,
      )
    }
  } else {
    if (Math.max(width, height) > DISPLAY_MAX) {
      const inside = { width: DISPLAY_MAX, height: DISPLAY_MAX, fit: 'inside' as const }
      await write('display', source().resize(inside), animated ? input.mime : stillMime)
    }
    const inside = {
      width: THUMBNAIL_MAX,
      height: THUMBNAIL_MAX,
      fit: 'inside' as const,
      withoutEnlargement: true,
    }
    await write('thumbnail', firstFrame().resize(inside), stillMime)
  }

  return { width, height, placeholder: await thumbHash(firstFrame()), variants }
}

/**
 * ThumbHash of the first frame. The encoder is synchronous JavaScript whose cost grows with the pixel
 * count: 32 px a side keeps the hash's detail (at most 7 × 7 colour terms) and takes ~0.1 ms of
 * event-loop time, where its 100 px maximum took 5–60 ms here.
 */
async function thumbHash(pipeline: Sharp): Promise<string> {
  const { data, info } = await guarded(() =>
    pipeline.resize(32, 32, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
  )
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64')
}
