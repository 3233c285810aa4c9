import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { animation, noisyJpeg, photo, png, zipOf } from '../../../test/helpers/media-files.ts'
import { findPolyglot } from './polyglot.ts'

const zip = zipOf([{ name: 'payload.txt', data: Buffer.from('hello') }])

describe('findPolyglot', () => {
  it('passes clean images of every format, baseline and progressive, still and animated', async () => {
    const noisy = await noisyJpeg(400, 300)
    const clean: Array<[Buffer, string]> = [
      [await photo({ width: 640, height: 480 }), 'image/jpeg'],
      [noisy, 'image/jpeg'],
      [await sharp(noisy).jpeg({ progressive: true }).toBuffer(), 'image/jpeg'],
      [await sharp(noisy).jpeg({ quality: 50, mozjpeg: true }).toBuffer(), 'image/jpeg'],
      [await png(300, 200), 'image/png'],
      [await animation('gif', 64, 48, 3), 'image/gif'],
      [await animation('webp', 64, 48, 3), 'image/webp'],
      [await sharp(noisy).webp({ lossless: true }).toBuffer(), 'image/webp'],
    ]
    for (const [bytes, mime] of clean) expect(findPolyglot(bytes, mime), mime).toBeNull()
  })

  it('ignores zero padding after the end marker', async () => {
    const jpeg = await photo({ width: 32, height: 32 })
    expect(findPolyglot(Buffer.concat([jpeg, Buffer.alloc(64)]), 'image/jpeg')).toBeNull()
  })

  it('finds data after the end of every format', async () => {
    const payload = Buffer.from('anything at all')
    for (const [bytes, mime] of [
      [await photo({ width: 32, height: 32 }), 'image/jpeg'],
      [
        await sharp(await noisyJpeg(64, 64))
          .jpeg({ progressive: true })
          .toBuffer(),
        'image/jpeg',
      ],
      [await png(32, 32), 'image/png'],
      [await animation('gif', 16, 16, 2), 'image/gif'],
      [await animation('webp', 16, 16, 2), 'image/webp'],
    ] as const) {
      expect(findPolyglot(Buffer.concat([bytes, payload]), mime), mime).toBe('trailing_data')
    }
  })

  it('finds a ZIP inside the image (in a PNG chunk), not only after it', async () => {
    const image = await png(16, 16)
    // A private ancillary chunk ("ziPp") carrying the archive, placed before IEND: the image ends cleanly.
    const chunk = Buffer.alloc(12 + zip.length)
    chunk.writeUInt32BE(zip.length, 0)
    chunk.write('ziPp', 4, 'latin1')
    zip.copy(chunk, 8)
    const iend = image.length - 12
    const withZip = Buffer.concat([image.subarray(0, iend), chunk, image.subarray(iend)])
    expect(findPolyglot(withZip, 'image/png')).toBe('zip')
  })

  it('does not take stray end-of-directory bytes for a ZIP', async () => {
    const image = await png(16, 16)
    const stray = Buffer.concat([Buffer.from('PK\u0005\u0006', 'latin1'), Buffer.alloc(18, 0x41)])
    const chunk = Buffer.alloc(12 + stray.length)
    chunk.writeUInt32BE(stray.length, 0)
    chunk.write('teXt', 4, 'latin1')
    stray.copy(chunk, 8)
    const iend = image.length - 12
    expect(
      findPolyglot(Buffer.concat([image.subarray(0, iend), chunk, image.subarray(iend)]), 'image/png'),
    ).toBeNull()
  })

  it('finds page markup in the first bytes', async () => {
    const jpeg = await photo({ width: 16, height: 16 })
    const page = Buffer.from('<script>alert(document.cookie)</script>')
    const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, page.length + 2]), page])
    expect(findPolyglot(Buffer.concat([jpeg.subarray(0, 2), comment, jpeg.subarray(2)]), 'image/jpeg')).toBe(
      'markup',
    )
  })
})
