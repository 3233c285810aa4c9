/**
 * Finds images that are also something else: a ZIP, a page or a script riding in or after the image
 * data (GIFAR-style polyglots). Re-encoding drops such payloads from what we serve anyway; refusing the
 * upload as well keeps them out of storage and tells the sender why.
 *
 * Each parser walks the format's own structure to its end marker and reports where the image ends; any
 * byte after that is foreign. A parser that cannot follow the structure answers null and leaves the
 * verdict to the decoder (corrupt).
 */

const PAGE_MARKUP = /<(?:!doctype\s+html|html|head|body|script|iframe|svg|object|embed)[\s>/]/i

/** Where a JPEG ends: after the EOI marker that follows the last scan. */
function jpegEnd(bytes: Buffer): number | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null
  let pos = 2
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null
    const marker = bytes[pos + 1]!
    if (marker === 0xff) {
      pos += 1 // fill byte
      continue
    }
    if (marker === 0xd9) return pos + 2
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2
      continue
    }
    const length = bytes.readUInt16BE(pos + 2)
    pos += 2 + length
    if (marker === 0xda) {
      // Entropy-coded data: runs until a marker that is neither a stuffed 0xFF00 nor a restart marker.
      for (;;) {
        const next = bytes.indexOf(0xff, pos)
        if (next < 0 || next + 1 >= bytes.length) return null
        const code = bytes[next + 1]!
        if (code === 0x00 || (code >= 0xd0 && code <= 0xd7) || code === 0xff) {
          pos = next + (code === 0xff ? 1 : 2)
          continue
        }
        pos = next
        break
      }
    }
  }
  return null
}

/** Where a PNG ends: after the IEND chunk. */
function pngEnd(bytes: Buffer): number | null {
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x89504e47) return null
  let pos = 8
  while (pos + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(pos)
    const type = bytes.toString('latin1', pos + 4, pos + 8)
    pos += 12 + length
    if (type === 'IEND') return pos
  }
  return null
}

/** Where a GIF ends: after the trailer byte that follows the last block. */
function gifEnd(bytes: Buffer): number | null {
  if (bytes.length < 13 || bytes.toString('latin1', 0, 3) !== 'GIF') return null
  const skipSubBlocks = (start: number): number | null => {
    let pos = start
    while (pos < bytes.length) {
      const size = bytes[pos]!
      pos += 1 + size
      if (size === 0) return pos
    }
    return null
  }
  const flags = bytes[10]!
  let pos = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0)
  while (pos < bytes.length) {
    const introducer = bytes[pos]
    if (introducer === 0x3b) return pos + 1
    if (introducer === 0x21) {
      const next = skipSubBlocks(pos + 2)
      if (next === null) return null
      pos = next
    } else if (introducer === 0x2c) {
      if (pos + 10 > bytes.length) return null
      const local = bytes[pos + 9]!
      pos += 10 + (local & 0x80 ? 3 * 2 ** ((local & 0x07) + 1) : 0) + 1 // + LZW minimum code size
      const next = skipSubBlocks(pos)
      if (next === null) return null
      pos = next
    } else {
      return null
    }
  }
  return null
}

/** Where a WebP ends: its RIFF header says. */
function webpEnd(bytes: Buffer): number | null {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF') return null
  const size = bytes.readUInt32LE(4)
  return 8 + size + (size % 2)
}

const IMAGE_END: Record<string, (bytes: Buffer) => number | null> = {
  'image/jpeg': jpegEnd,
  'image/png': pngEnd,
  'image/gif': gifEnd,
  'image/webp': webpEnd,
}

/**
 * A ZIP anywhere inside: an end-of-central-directory record whose central directory really is where it
 * says (so four random bytes of image data are not taken for one).
 */
function embeddedZip(bytes: Buffer): boolean {
  const signature = Buffer.from([0x50, 0x4b, 0x05, 0x06])
  for (let at = bytes.indexOf(signature); at >= 0; at = bytes.indexOf(signature, at + 1)) {
    if (at + 22 > bytes.length) return false
    const directorySize = bytes.readUInt32LE(at + 12)
    const directoryOffset = bytes.readUInt32LE(at + 16)
    // The directory sits just before this record: absolute offsets (zip at the start) or relative to
    // the archive's own start (a zip appended to something else) both land there.
    const directoryStart = at - directorySize
    if (directoryStart < 0) continue
    if (bytes.readUInt32LE(directoryStart) === 0x02014b50) return true
    if (directoryOffset < bytes.length - 4 && bytes.readUInt32LE(directoryOffset) === 0x02014b50) return true
  }
  return false
}

export type PolyglotFinding = 'trailing_data' | 'markup' | 'zip'

/** What else the image file is, or null when it is only an image. */
export function findPolyglot(bytes: Buffer, mime: string): PolyglotFinding | null {
  if (PAGE_MARKUP.test(bytes.toString('latin1', 0, Math.min(bytes.length, 1024)))) return 'markup'
  const end = IMAGE_END[mime]?.(bytes) ?? null
  if (end !== null && end < bytes.length) {
    // Some encoders pad with zero bytes; padding is not a payload.
    const rest = bytes.subarray(end)
    if (rest.some((byte) => byte !== 0)) return 'trailing_data'
  }
  if (embeddedZip(bytes)) return 'zip'
  return null
}
