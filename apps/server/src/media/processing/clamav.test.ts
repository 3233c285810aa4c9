import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EICAR, photo, zipOf } from '../../../test/helpers/media-files.ts'
import { ClamdScanner, ScannerUnavailable } from './clamav.ts'

/**
 * Against a real clamd (`.ci/start-clamd.sh`, which CI runs and exports PARLEY_TEST_CLAMAV_URL for).
 * CI without it fails here; a developer without clamd running gets the same failure with the command.
 */
const clamavUrl = process.env.PARLEY_TEST_CLAMAV_URL ?? 'tcp://127.0.0.1:3310'

let root: string
const file = (name: string, bytes: Buffer) => {
  const target = path.join(root, name)
  fs.writeFileSync(target, bytes)
  return target
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-clamd-'))
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

describe('ClamdScanner (INSTREAM)', () => {
  const scanner = new ClamdScanner({ url: clamavUrl })

  it('finds EICAR, also inside a zip', async () => {
    expect(await scanner.scanFile(file('eicar.com', EICAR))).toMatch(/FOUND|Eicar|eicar/i)
    const zipped = zipOf([
      { name: 'readme.txt', data: Buffer.from('hi') },
      { name: 'eicar.com', data: EICAR },
    ])
    expect(await scanner.scanFile(file('eicar.zip', zipped))).toMatch(/eicar/i)
  }, 60_000)

  it('passes clean bytes, in several chunks', async () => {
    expect(await scanner.scanFile(file('photo.jpg', await photo({ width: 800, height: 600 })))).toBeNull()
    // Larger than one 64 KiB chunk, so the length-prefixed framing is exercised.
    expect(await scanner.scanFile(file('big.bin', Buffer.alloc(300 * 1024, 7)))).toBeNull()
  }, 60_000)

  it('rejects with ScannerUnavailable when clamd is not there', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    const absent = new ClamdScanner({ url: `tcp://127.0.0.1:${closed}` })
    await expect(absent.scanFile(file('x.txt', Buffer.from('x')))).rejects.toBeInstanceOf(ScannerUnavailable)
  })

  it('rejects with ScannerUnavailable when the other end is not clamd', async () => {
    const impostor = net.createServer((socket) => {
      socket.resume() // read (and drop) what the client sends, so its close is seen
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    })
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve))
    const { port } = impostor.address() as net.AddressInfo
    try {
      const scanner = new ClamdScanner({ url: `tcp://127.0.0.1:${port}` })
      await expect(scanner.scanFile(file('y.txt', Buffer.from('y')))).rejects.toBeInstanceOf(
        ScannerUnavailable,
      )
    } finally {
      await new Promise((resolve) => impostor.close(resolve))
    }
  })
})
