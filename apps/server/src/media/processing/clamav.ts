import fs from 'node:fs'
import net from 'node:net'
import type { VirusScanner } from './types.ts'

/** clamd could not give a verdict (down, refused, timed out, an error reply): the upload must not go on. */
export class ScannerUnavailable extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options)
    this.name = 'ScannerUnavailable'
  }
}

const CHUNK = 64 * 1024

export interface ClamdOptions {
  /** `tcp://host:port` or `unix:///path/to/clamd.sock`. */
  url: string
  /** Longest a whole scan may take before the scanner counts as unavailable, ms. */
  timeoutMs?: number
}

function connectOptions(url: string): net.NetConnectOpts {
  const parsed = new URL(url)
  if (parsed.protocol === 'unix:') return { path: parsed.pathname }
  if (parsed.protocol === 'tcp:')
    return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 3310) }
  throw new Error(`PARLEY_CLAMAV_URL must be tcp://host:port or unix:///path, not ${parsed.protocol}`)
}

/**
 * ClamAV's clamd over its INSTREAM command: the file is sent in length-prefixed chunks (never a path,
 * so clamd needs no access to our disk and may run on another machine), ended by a zero-length chunk;
 * clamd answers `stream: OK` or `stream: <signature> FOUND`.
 */
export class ClamdScanner implements VirusScanner {
  private readonly target: net.NetConnectOpts
  private readonly timeoutMs: number
  constructor(options: ClamdOptions) {
    this.target = connectOptions(options.url)
    this.timeoutMs = options.timeoutMs ?? 60_000
  }

  scanFile(path: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.target)
      const file = fs.createReadStream(path, { highWaterMark: CHUNK })
      const replies: Buffer[] = []
      let settled = false
      const finish = (error: Error | null, signature: string | null = null) => {
        if (settled) return
        settled = true
        file.destroy()
        socket.destroy()
        if (error) reject(error)
        else resolve(signature)
      }
      socket.setTimeout(this.timeoutMs, () => finish(new ScannerUnavailable('clamd did not answer in time')))
      socket.on('error', (error) =>
        finish(new ScannerUnavailable(`clamd: ${error.message}`, { cause: error })),
      )
      socket.on('data', (chunk: Buffer) => replies.push(chunk))
      socket.on('close', () => {
        const reply = Buffer.concat(replies).toString('utf8').replace(/\0+$/, '').trim()
        const found = /^stream: (.+) FOUND$/.exec(reply)
        if (found) finish(null, found[1]!)
        else if (reply === 'stream: OK') finish(null, null)
        else finish(new ScannerUnavailable(`clamd answered ${JSON.stringify(reply.slice(0, 200))}`))
      })
      socket.once('connect', () => {
        socket.write('zINSTREAM\0')
        file.on('data', (chunk) => {
          const data = chunk as Buffer
          const length = Buffer.alloc(4)
          length.writeUInt32BE(data.length)
          socket.write(length)
          // Backpressure: stop reading the file while the socket's buffer is full.
          if (!socket.write(data)) {
            file.pause()
            socket.once('drain', () => file.resume())
          }
        })
        file.on('end', () => socket.write(Buffer.alloc(4)))
        file.on('error', (error) => finish(error))
      })
    })
  }
}
