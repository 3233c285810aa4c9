import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { UPLOAD_PART_BYTES } from '@parley/protocol'
import { ApiRequestError, RestClient, type UploadProgress } from '@parley/sdk'
import type { Browser, Page } from 'playwright-core'
import sharp from 'sharp'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, SKIP_BROWSER } from '../../web/e2e/harness.ts'
import { createUser } from './helpers/factories.ts'
import { pngImage } from './helpers/media.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const SDK_SOURCES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../packages/sdk/src')

/** One PUT the SDK sent to a signed URL: which part (null for a single PUT) and how many bytes. */
interface SentPut {
  part: number | null
  bytes: number
}

/**
 * The real fetch, recording every PUT to a signed URL; `fail` may refuse a PUT before it is sent, the
 * way a dropped network does (fetch rejects with a TypeError).
 */
function recordingFetch(puts: SentPut[], fail: (put: SentPut) => boolean = () => false): typeof fetch {
  return (input, init) => {
    if (init?.method === 'PUT') {
      const url = new URL(input instanceof Request ? input.url : String(input))
      const part = url.searchParams.get('partNumber') ?? url.searchParams.get('part')
      const headers = new Headers(init.headers)
      const put = { part: part === null ? null : Number(part), bytes: Number(headers.get('content-length')) }
      if (fail(put)) return Promise.reject(new TypeError('fetch failed'))
      puts.push(put)
    }
    return fetch(input, init)
  }
}

function isMonotonic(events: UploadProgress[]): boolean {
  return events.every((event, index) => index === 0 || event.loaded >= (events[index - 1]?.loaded ?? 0))
}

/** A 2 MP JPEG with noise, so it does not compress to nothing and takes several body chunks. */
async function noisyJpeg(): Promise<Buffer> {
  const width = 1600
  const height = 1200
  const raw = crypto.randomBytes(width * height * 3)
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

const blobOf = (bytes: Buffer, type: string) => new Blob([new Uint8Array(bytes)], { type })

describe.each(MODES)('SDK uploads (%s)', (mode) => {
  let server: TestServer
  let token: string
  let friendId: number
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    const ada = await createUser(server)
    const bob = await createUser(server)
    token = ada.auth.tokens.access_token
    friendId = bob.id
  })
  afterAll(async () => {
    await server?.close()
  })

  const clientWith = (puts: SentPut[], fail?: (put: SentPut) => boolean) =>
    new RestClient({ baseUrl: server.url, accessToken: token, fetch: recordingFetch(puts, fail) })

  it('uploads an image in one PUT with monotonic progress, then sends it as an image message', async () => {
    const puts: SentPut[] = []
    const client = clientWith(puts)
    const jpeg = await noisyJpeg()
    const events: UploadProgress[] = []
    const attachment = await client.media.upload(
      new File([new Uint8Array(jpeg)], 'photo.jpg', { type: 'image/jpeg' }),
      {
        onProgress: (event) => events.push(event),
      },
    )
    expect(attachment).toMatchObject({ state: 'ready', kind: 'image', mime_type: 'image/jpeg' })
    expect(attachment.file_name).toBe('photo.jpg')
    expect(puts).toEqual([{ part: null, bytes: jpeg.length }])
    expect(events.some((event) => event.loaded > 0 && event.loaded < jpeg.length)).toBe(true)
    expect(isMonotonic(events)).toBe(true)
    expect(events.at(-1)).toEqual({ attachmentId: attachment.id, loaded: jpeg.length, total: jpeg.length })

    const { chat } = await client.chats.open(friendId)
    const { message } = await client.messages.send(chat.id, {
      message_type: 'image',
      attachment_ids: [attachment.id],
      content: 'from the SDK',
    })
    expect(message.attachments.map((item) => item.id)).toEqual([attachment.id])
    expect(message.media_url).toBe(`/api/media/${attachment.id}`)
    expect(await client.media.cookie()).toEqual({ success: true })
  })

  it('cancel mid-upload rejects with the abort reason and leaves the upload incomplete and unattached', async () => {
    const puts: SentPut[] = []
    const client = clientWith(puts)
    const jpeg = await noisyJpeg()
    const controller = new AbortController()
    let attachmentId: number | null = null
    const upload = client.media.upload(blobOf(jpeg, 'image/jpeg'), {
      signal: controller.signal,
      onStarted: (id) => {
        attachmentId = id
      },
      onProgress: ({ loaded }) => {
        if (loaded > 0) controller.abort()
      },
    })
    await expect(upload).rejects.toMatchObject({ name: 'AbortError' })
    if (attachmentId === null) throw new Error('the upload never started')
    const state = await client.raw('GET', `/api/upload/${attachmentId}`)
    expect(state.body).toMatchObject({
      attachment: { state: 'uploading', media_url: null },
      upload: { complete: false, parts_received: [] },
    })
    const { chat } = await client.chats.open(friendId)
    const send = client.messages.send(chat.id, { message_type: 'image', attachment_ids: [attachmentId] })
    await expect(send).rejects.toMatchObject({ status: 409, code: 'conflict' })
  })

  it('a 20 MB upload in parts, cancelled after a part, resumes sending only the missing parts', async () => {
    const size = 20 * 1024 * 1024
    const bytes = crypto.randomBytes(size)
    const file = blobOf(bytes, 'application/octet-stream')
    const partCount = Math.ceil(size / UPLOAD_PART_BYTES)
    expect(partCount).toBeGreaterThan(2)

    const firstPuts: SentPut[] = []
    const controller = new AbortController()
    let attachmentId: number | null = null
    const first = clientWith(firstPuts).media.upload(file, {
      kind: 'document',
      filename: 'big.bin',
      concurrency: 1,
      signal: controller.signal,
      onStarted: (id) => {
        attachmentId = id
      },
      onPartUploaded: ({ partNumber }) => {
        if (partNumber === 1) controller.abort()
      },
    })
    await expect(first).rejects.toMatchObject({ name: 'AbortError' })
    expect(firstPuts).toEqual([{ part: 1, bytes: UPLOAD_PART_BYTES }])
    if (attachmentId === null) throw new Error('the upload never started')

    const resumedPuts: SentPut[] = []
    const events: UploadProgress[] = []
    const attachment = await clientWith(resumedPuts).media.resumeUpload(attachmentId, file, {
      onProgress: (event) => events.push(event),
    })
    expect(attachment).toMatchObject({ id: attachmentId, state: 'ready', kind: 'document', size })
    const missing = Array.from({ length: partCount - 1 }, (_, index) => index + 2)
    expect(resumedPuts.map((put) => put.part).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(missing)
    expect(resumedPuts.reduce((sum, put) => sum + put.bytes, 0)).toBe(size - UPLOAD_PART_BYTES)
    expect(events[0]?.loaded).toBe(UPLOAD_PART_BYTES)
    expect(isMonotonic(events)).toBe(true)
    expect(events.at(-1)?.loaded).toBe(size)

    // The stored file is the one sent, byte for byte.
    const media = await fetch(`${server.url}/api/media/${attachmentId}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(media.status).toBe(200)
    expect(Buffer.from(await media.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('retries a part whose connection failed, and gives up after the bounded number of tries', async () => {
    const size = 9 * 1024 * 1024
    const file = blobOf(crypto.randomBytes(size), 'application/octet-stream')
    const puts: SentPut[] = []
    let partTwoTries = 0
    const flaky = clientWith(puts, (put) => put.part === 2 && ++partTwoTries === 1)
    const attachment = await flaky.media.upload(file, { kind: 'document', retryDelayMs: 5 })
    expect(attachment.state).toBe('ready')
    expect(partTwoTries).toBe(2)
    expect(puts.map((put) => put.part).sort()).toEqual([1, 2])

    let attempts = 0
    const down = clientWith([], (put) => {
      if (put.part !== 2) return false
      attempts++
      return true
    })
    const upload = down.media.upload(file, { kind: 'document', retries: 2, retryDelayMs: 5 })
    await expect(upload).rejects.toBeInstanceOf(ApiRequestError)
    await expect(upload).rejects.toMatchObject({ status: 0, code: 'service_unavailable' })
    expect(attempts).toBe(3)
  })

  it('a bad file rejects with the coded error', async () => {
    const puts: SentPut[] = []
    const client = clientWith(puts)
    const png = await pngImage()
    const mismatch = client.media.upload(blobOf(png, 'image/jpeg'))
    await expect(mismatch).rejects.toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
      details: { reason: 'type_mismatch' },
    })

    const truncated = (await noisyJpeg()).subarray(0, 20_000)
    await expect(client.media.upload(blobOf(truncated, 'image/jpeg'))).rejects.toMatchObject({
      status: 422,
      code: 'media_rejected',
      details: { reason: 'corrupt' },
    })

    const before = puts.length
    const tooBig = blobOf(Buffer.alloc(11 * 1024 * 1024, 1), 'image/png')
    await expect(client.media.upload(tooBig)).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
    })
    expect(puts.length).toBe(before)
  })

  it('sets a profile photo from a Blob (multipart)', async () => {
    const client = clientWith([])
    const answer = await client.users.setAvatar(blobOf(await pngImage(400, 400), 'image/png'), 'me.png')
    expect(answer.avatar_url).toMatch(/\/api\/media\/\d+\/avatar_300$/)
    const { user } = await client.users.profile()
    expect(user.avatar_url).toBe(answer.avatar_url)
  })
})

/**
 * The SDK's browser path (XMLHttpRequest, for upload progress) in Debian's Chromium: the SDK's sources
 * are transpiled and served to the page at the server's origin, so the page is same-origin with the
 * disk store's signed URLs (S3 would need the bucket's CORS, which is the operator's to set).
 */
// Without Chromium locally, skipped with the web suite's message; CI has it (SKIP_BROWSER is false there).
describe.skipIf(SKIP_BROWSER).each(MODES)('SDK uploads in a browser (%s)', (mode) => {
  let server: TestServer
  let browser: Browser
  let page: Page
  beforeAll(async () => {
    // The disk store: its signed URLs are on the server's own origin.
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_S3_BUCKET: '' })
    const ada = await createUser(server)
    browser = await launchBrowser()
    page = await browser.newPage()
    const sources = new Map<string, string>(
      ['rest.ts', 'uploads.ts'].map((name) => {
        const source = fs.readFileSync(path.join(SDK_SOURCES, name), 'utf8')
        const { outputText } = ts.transpileModule(source, {
          compilerOptions: {
            module: ts.ModuleKind.ESNext,
            target: ts.ScriptTarget.ES2022,
            verbatimModuleSyntax: true,
            rewriteRelativeImportExtensions: false,
          },
        })
        return [`/sdk-under-test/${name}`, outputText] as const
      }),
    )
    await page.route(`${server.url}/sdk-under-test/**`, (route) => {
      const url = new URL(route.request().url())
      const script = sources.get(url.pathname)
      if (script) return route.fulfill({ contentType: 'text/javascript', body: script })
      return route.fulfill({
        contentType: 'text/html',
        body: `<script type="module">import { RestClient } from './rest.ts'
          window.client = new RestClient({ baseUrl: location.origin, accessToken: ${JSON.stringify(ada.auth.tokens.access_token)} })
          window.ready = true</script>`,
      })
    })
    await page.goto(`${server.url}/sdk-under-test/index.html`)
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('uploads in parts through XMLHttpRequest with progress, and cancels', async () => {
    const outcome = await page.evaluate(
      async (size) => {
        const { client } = window as unknown as { client: RestClient }
        const bytes = new Uint8Array(size)
        for (let offset = 0; offset < size; offset += 65536)
          self.crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)))
        const file = new File([bytes], 'big.bin', { type: 'application/octet-stream' })
        const loaded: number[] = []
        const attachment = await client.media.upload(file, {
          kind: 'document',
          onProgress: (event) => loaded.push(event.loaded),
        })
        const controller = new AbortController()
        const cancelled = await client.media
          .upload(file, {
            kind: 'document',
            signal: controller.signal,
            onProgress: (event) => {
              if (event.loaded > 0) controller.abort()
            },
          })
          .then(
            () => 'completed',
            (error: Error) => error.name,
          )
        return { attachment, loaded, cancelled, usesXhr: typeof XMLHttpRequest === 'function' }
      },
      12 * 1024 * 1024,
    )
    expect(outcome.usesXhr).toBe(true)
    expect(outcome.attachment).toMatchObject({ state: 'ready', kind: 'document', size: 12 * 1024 * 1024 })
    expect(outcome.loaded.length).toBeGreaterThan(2)
    expect(
      outcome.loaded.every((value, index) => index === 0 || value >= (outcome.loaded[index - 1] ?? 0)),
    ).toBe(true)
    expect(outcome.loaded.at(-1)).toBe(12 * 1024 * 1024)
    expect(outcome.cancelled).toBe('AbortError')
  })
})
