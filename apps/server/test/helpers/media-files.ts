import crypto from 'node:crypto'
import zlib from 'node:zlib'
import sharp from 'sharp'

/**
 * Test files made in code: images (with EXIF/GPS, rotated, animated, huge), WAV, zips and the EICAR
 * test string. The real audio/video fixtures are in test/fixtures/media (README there).
 */

/** The standard anti-virus test file, from two halves so this source is not itself flagged. */
export const EICAR = Buffer.from(
  `${'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-'}${'ANTIVIRUS-TEST-FILE!$H+H*'}`,
  'latin1',
)

/** A ZIP archive with stored (uncompressed) entries: enough for scanners and polyglot tests. */
export function zipOf(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const { name, data } of entries) {
    const fileName = Buffer.from(name, 'utf8')
    const crc = zlib.crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(fileName.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(fileName.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, fileName, data)
    centrals.push(central, fileName)
    offset += local.length + fileName.length + data.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

/** Where the test photo "was taken": EXIF GPS tags a stripped image must not carry any more. */
export const GPS_EXIF = {
  IFD0: { Make: 'ParleyTestCam', Copyright: 'secret-owner' },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '48/1 51/1 2964/100',
    GPSLongitudeRef: 'E',
    GPSLongitude: '2/1 17/1 4020/100',
  },
}

/**
 * A JPEG whose left half is red and right half blue, with GPS EXIF; `orientation` 6 means "turn 90°
 * clockwise to show" (the stored pixels are landscape, the photo is portrait).
 */
export async function photo(options: {
  width: number
  height: number
  orientation?: number
}): Promise<Buffer> {
  const { width, height } = options
  const half = Math.floor(width / 2)
  let image = sharp({ create: { width, height, channels: 3, background: '#ff0000' } })
    .composite([
      {
        input: { create: { width: width - half, height, channels: 3, background: '#0000ff' } },
        left: half,
        top: 0,
      },
    ])
    .withExif(GPS_EXIF)
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation })
  return image.jpeg({ quality: 90 }).toBuffer()
}

/** Random pixels: an image that costs real work to decode and resize (for bursts of processing). */
export function noisyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(crypto.randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer()
}

export function png(width: number, height: number, color = '#33aa55'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: color } })
    .png()
    .toBuffer()
}

/**
 * A decompression bomb: a tiny PNG whose header claims `width` × `height` pixels (the header's CRC
 * recomputed, so only the pixel count is wrong). Processing must refuse it from the header alone.
 */
export async function pngBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await png(8, 8))
  // IHDR is the first chunk: length (4) at 8, type at 12, width at 16, height at 20, CRC at 29.
  bytes.writeUInt32BE(width, 16)
  bytes.writeUInt32BE(height, 20)
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(12, 29)), 29)
  return bytes
}

/** A `frames`-frame animated GIF or WebP, each frame a different colour. */
export async function animation(format: 'gif' | 'webp', width: number, height: number, frames = 3) {
  const colours = ['#ff0000', '#00ff00', '#0000ff', '#ffff00']
  const pages = await Promise.all(
    Array.from({ length: frames }, (_, index) =>
      sharp({ create: { width, height, channels: 3, background: colours[index % colours.length]! } })
        .raw()
        .toBuffer(),
    ),
  )
  const stacked = sharp(Buffer.concat(pages), {
    raw: { width, height: height * frames, channels: 3, pageHeight: height },
  })
  const options = { delay: Array(frames).fill(100), loop: 0 }
  return format === 'gif' ? stacked.gif(options).toBuffer() : stacked.webp(options).toBuffer()
}

/** 16-bit mono PCM WAV; `loudness(t)` in 0..1 sets the amplitude of a 440 Hz tone over time. */
export function wav(seconds: number, loudness: (t: number) => number, sampleRate = 8000): Buffer {
  const samples = Math.round(seconds * sampleRate)
  const data = Buffer.alloc(samples * 2)
  for (let index = 0; index < samples; index++) {
    const t = index / sampleRate
    data.writeInt16LE(Math.round(32767 * loudness(t) * Math.sin(2 * Math.PI * 440 * t)), index * 2)
  }
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVE', 8, 'latin1')
  header.write('fmt ', 12, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}
