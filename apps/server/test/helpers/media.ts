import http from 'node:http'
import https from 'node:https'
import type { SignUploadResponse } from '@parley/protocol'
import sharp from 'sharp'
import type { TestServer } from './server.ts'

/** A small PNG made in the test (never a checked-in file). */
export function pngImage(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer()
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  json<T = Record<string, unknown>>(): T
}

/**
 * One HTTP request with node:http (fetch cannot set Content-Length on a streamed body, which S3's
 * presigned PUT needs, nor cut a body off halfway). `body` may be a generator of chunks; `dropAfter`
 * destroys the connection once that many body bytes were written (a dropped upload).
 */
export function request(
  url: string,
  options: {
    method?: string
    headers?: Record<string, string>
    body?: Buffer | string | (() => Iterable<Buffer>)
    dropAfter?: number
  } = {},
): Promise<Answer> {
  const target = new URL(url)
  const transport = target.protocol === 'https:' ? https : http
  return new Promise<Answer>((resolve, reject) => {
    const req = transport.request(
      target,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    const body = options.body
    if (body === undefined) return void req.end()
    if (typeof body === 'string' || Buffer.isBuffer(body)) return void req.end(body)
    // Streams the generator with backpressure, so the test process holds one chunk at a time.
    const chunks = body()[Symbol.iterator]()
    let written = 0
    const pump = () => {
      for (;;) {
        const next = chunks.next()
        if (next.done) return void req.end()
        if (options.dropAfter !== undefined && written + next.value.length > options.dropAfter) {
          const head = next.value.subarray(0, options.dropAfter - written)
          req.write(head, () => {
            req.destroy(new Error('dropped on purpose'))
          })
          return
        }
        written += next.value.length
        if (!req.write(next.value)) return void req.once('drain', pump)
      }
    }
    pump()
  }).catch((error: unknown): Answer => {
    if (!(error instanceof Error && error.message === 'dropped on purpose')) throw error
    const body = Buffer.alloc(0)
    return { status: 0, headers: {}, body, json: <T>() => ({}) as T }
  })
}

/** `size` bytes as `chunk`-sized slices of one reused random block (little memory for any size). */
export function* bytesOf(size: number, seed: Buffer, chunk = 1024 * 1024): Iterable<Buffer> {
  let sent = 0
  while (sent < size) {
    const length = Math.min(chunk, size - sent)
    const block = Buffer.alloc(length)
    for (let offset = 0; offset < length; offset += seed.length)
      seed.copy(block, offset, 0, Math.min(seed.length, length - offset))
    yield block
    sent += length
  }
}

export class Api {
  constructor(
    private readonly server: TestServer,
    readonly token: string,
  ) {}

  call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return request(`${this.server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }

  async sign(body: { filename: string; mime_type: string; size: number; kind?: string }) {
    const answer = await this.call('POST', '/api/upload/sign', body)
    if (answer.status !== 201) throw new Error(`sign answered ${answer.status} ${answer.body.toString()}`)
    return answer.json<SignUploadResponse>()
  }

  /** sign → PUT → complete, for tests about what comes after an upload. */
  async upload(bytes: Buffer, filename: string, mimeType: string, kind?: string) {
    const signed = await this.sign({
      filename,
      mime_type: mimeType,
      size: bytes.length,
      ...(kind ? { kind } : {}),
    })
    const put = await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(bytes.length), ...signed.headers },
      body: bytes,
    })
    if (put.status !== 200) throw new Error(`PUT answered ${put.status} ${put.body.toString()}`)
    return { signed, complete: await this.call('POST', `/api/upload/${signed.attachment_id}/complete`) }
  }
}
