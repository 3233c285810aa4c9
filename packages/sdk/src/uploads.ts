import type {
  ApiErrorBody,
  Attachment,
  ErrorCode,
  MediaKind,
  SignUploadResponse,
  UploadPartsResponse,
  UploadStateResponse,
} from '@parley/protocol'
import { ApiRequestError, type RequestOptions } from './rest.ts'

/** How far an upload is: bytes the server has (or is being sent) out of the file's size. */
export interface UploadProgress {
  attachmentId: number
  loaded: number
  total: number
}

export interface UploadOptions {
  /** Sent to sign; the server picks one from the type when left out (send it for voice, gif, sticker). */
  kind?: MediaKind
  /** Defaults to the File's name, else `upload`. */
  filename?: string
  /** Defaults to the Blob's type, else `application/octet-stream`. */
  mimeType?: string
  /** Called as bytes go out; `loaded` never goes down and reaches `total` before the upload completes. */
  onProgress?: (progress: UploadProgress) => void
  /** Called once the upload has an id: keep it to `resumeUpload` after a dropped connection or a reload. */
  onStarted?: (attachmentId: number) => void
  /** Called after each part the store has taken (parts are 1-based; a single PUT is part 1 of 1). */
  onPartUploaded?: (part: { attachmentId: number; partNumber: number; partCount: number }) => void
  /** Aborts every request in flight and rejects with the signal's reason; the upload stays resumable. */
  signal?: AbortSignal
  /** Parts sent at once (default 3). */
  concurrency?: number
  /** Tries after the first for a failed part or complete (default 4), with exponential backoff. */
  retries?: number
  /** First backoff delay in ms (default 500; doubled each try, with jitter). */
  retryDelayMs?: number
}

/** What the upload client needs of RestClient: JSON calls that throw ApiRequestError, and its fetch. */
export interface UploadHost {
  call<T>(method: string, path: string, options?: RequestOptions): Promise<T>
  readonly fetchImpl: typeof fetch
}

type PutResult = { ok: true } | { ok: false; error: ApiRequestError; retryable: boolean; expired: boolean }

/** Sends one body to a signed URL, reporting bytes sent; rejects only when aborted. */
type PutTransport = (
  url: string,
  body: Blob,
  onSent: (bytes: number) => void,
  signal: AbortSignal,
) => Promise<PutResult>

const DEFAULT_CONCURRENCY = 3
const DEFAULT_RETRIES = 4
const DEFAULT_RETRY_DELAY_MS = 500

/**
 * Direct uploads (docs/api/media.md): sign → PUT (one request, or parts in parallel) → complete. Works
 * in browsers (XMLHttpRequest, for upload progress) and in Node 20 (fetch with a counted stream body).
 *
 * @example
 * ```ts
 * const attachment = await client.media.upload(file, { onProgress: ({ loaded, total }) => bar(loaded / total) })
 * await client.messages.send(chatId, { message_type: 'image', attachment_ids: [attachment.id] })
 * ```
 */
export class UploadClient {
  private readonly put: PutTransport

  constructor(
    private readonly host: UploadHost,
    transport?: PutTransport,
  ) {
    this.put = transport ?? defaultTransport(host.fetchImpl)
  }

  /** Uploads a File or Blob and answers the ready attachment, or rejects with the coded ApiRequestError. */
  async upload(file: Blob, options: UploadOptions = {}): Promise<Attachment> {
    const signal = options.signal
    signal?.throwIfAborted()
    const mimeType = options.mimeType || file.type || 'application/octet-stream'
    const signed = await this.host.call<SignUploadResponse>('POST', '/api/upload/sign', {
      body: {
        filename: options.filename ?? nameOf(file),
        mime_type: mimeType.split(';')[0]?.trim().toLowerCase(),
        size: file.size,
        ...(options.kind ? { kind: options.kind } : {}),
      },
      signal,
    })
    const id = signed.attachment_id
    options.onStarted?.(id)
    const run = new UploadRun(this.host, this.put, id, file, signed.part_size, signed.part_count, options)
    run.begin()
    if (signed.part_count === 1) await run.sendSingle(signed.upload_url)
    else await run.sendParts(range(1, signed.part_count))
    return run.complete()
  }

  /**
   * Continues an upload after a dropped connection, a cancel or a reload: asks the server which parts
   * it has and sends only the missing ones, then completes. `file` must be the same bytes.
   */
  async resumeUpload(attachmentId: number, file: Blob, options: UploadOptions = {}): Promise<Attachment> {
    options.signal?.throwIfAborted()
    const state = await this.host.call<UploadStateResponse>('GET', `/api/upload/${attachmentId}`, {
      signal: options.signal,
    })
    const { upload, attachment } = state
    if (attachment.state === 'ready') return attachment
    if (file.size !== upload.size)
      throw new RangeError(`This file has ${file.size} bytes; upload ${attachmentId} is for ${upload.size}`)
    const run = new UploadRun(
      this.host,
      this.put,
      attachmentId,
      file,
      upload.part_size,
      upload.part_count,
      options,
    )
    if (attachment.state === 'uploading' && !upload.complete) {
      const received = new Set(upload.parts_received.map((part) => part.part_number))
      for (const part of upload.parts_received) run.alreadySent(part.part_number, part.size)
      run.begin()
      await run.sendParts(range(1, upload.part_count).filter((n) => !received.has(n)))
    }
    return run.complete()
  }
}

/** One upload's parts, progress and retries. */
class UploadRun {
  private readonly sent = new Map<number, number>()
  private reported = 0
  private readonly concurrency: number
  private readonly retries: number
  private readonly retryDelayMs: number
  /** The caller's signal, or one that never aborts. */
  private readonly signal: AbortSignal
  private started = false

  constructor(
    private readonly host: UploadHost,
    private readonly put: PutTransport,
    private readonly id: number,
    private readonly file: Blob,
    private readonly partSize: number,
    private readonly partCount: number,
    private readonly options: UploadOptions,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
    this.retries = Math.max(0, options.retries ?? DEFAULT_RETRIES)
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS
    this.signal = options.signal ?? new AbortController().signal
  }

  /** Counts parts the store already has (resuming): progress starts from them. */
  alreadySent(partNumber: number, bytes: number) {
    this.sent.set(partNumber, bytes)
  }

  /** The first progress event: nothing sent yet, or what an earlier try left on the store. */
  begin() {
    this.progress()
  }

  /** The whole file to the sign answer's URL; if that URL expires meanwhile, as part 1 of 1 instead. */
  async sendSingle(uploadUrl: string) {
    await this.sendPart(1, uploadUrl, this.signal)
  }

  /** Sends the given parts, `concurrency` at a time, asking for their URLs in batches. */
  async sendParts(partNumbers: number[]) {
    const queue = [...partNumbers]
    // One failed part stops the others: their requests are aborted through this controller.
    const stop = new AbortController()
    const onAbort = () => stop.abort(this.signal.reason)
    if (this.signal.aborted) onAbort()
    this.signal.addEventListener('abort', onAbort, { once: true })
    const urls = new Map<number, Promise<string | undefined>>()
    const urlOf = (partNumber: number) => {
      if (!urls.has(partNumber)) {
        const batch = [partNumber, ...queue.filter((n) => !urls.has(n))].slice(0, 100)
        const answer = this.partUrls(batch, stop.signal)
        for (const n of batch) {
          const url = answer.then((got) => got.get(n))
          // Parts never reached after a failure must not leave an unhandled rejection; awaiting still throws.
          url.catch(() => {})
          urls.set(n, url)
        }
      }
      return urls.get(partNumber) as Promise<string | undefined>
    }
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift())
        await this.sendPart(next, await urlOf(next), stop.signal)
    }
    try {
      const workers = Array.from({ length: Math.min(this.concurrency, queue.length) }, () =>
        worker().catch((error: unknown) => {
          stop.abort(error)
          throw error
        }),
      )
      const failed = (await Promise.allSettled(workers)).find((result) => result.status === 'rejected')
      if (failed) throw this.signal.aborted ? this.signal.reason : (failed as PromiseRejectedResult).reason
    } finally {
      this.signal.removeEventListener('abort', onAbort)
    }
  }

  /** Completes (idempotent), retrying while the server asks to; uploads parts it still misses once. */
  async complete(): Promise<Attachment> {
    let refilled = false
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.host.call<{ success: true; attachment: Attachment }>(
          'POST',
          `/api/upload/${this.id}/complete`,
          {
            signal: this.signal,
          },
        )
        return answer.attachment
      } catch (error) {
        if (!(error instanceof ApiRequestError) || attempt >= this.retries) throw error
        const missing = missingParts(error)
        if (missing && !refilled) {
          refilled = true
          for (const n of missing) this.sent.delete(n)
          await this.sendParts(missing)
          continue
        }
        // 503: not the file's fault; 409 without missing parts: another complete is processing it.
        if (!(error.status === 503 || (error.status === 409 && !missing))) throw error
        await this.backoff(attempt)
      }
    }
  }

  private async partUrls(partNumbers: number[], signal: AbortSignal): Promise<Map<number, string>> {
    const answer = await this.host.call<UploadPartsResponse>('POST', `/api/upload/${this.id}/parts`, {
      body: { part_numbers: partNumbers.slice(0, 100) },
      signal,
    })
    return new Map(answer.parts.map((part) => [part.part_number, part.url]))
  }

  private async sendPart(partNumber: number, firstUrl: string | undefined, signal: AbortSignal) {
    const start = (partNumber - 1) * this.partSize
    const body = this.partCount === 1 ? this.file : this.file.slice(start, start + this.partSize)
    let url = firstUrl
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted()
      url ??= (await this.partUrls([partNumber], signal)).get(partNumber)
      if (!url) throw new Error(`the server gave no URL for part ${partNumber}`)
      const result = await this.put(
        url,
        body,
        (bytes) => {
          this.sent.set(partNumber, bytes)
          this.progress()
        },
        signal,
      )
      if (result.ok) {
        this.sent.set(partNumber, body.size)
        this.progress()
        this.options.onPartUploaded?.({ attachmentId: this.id, partNumber, partCount: this.partCount })
        return
      }
      this.sent.set(partNumber, 0)
      if (!result.retryable || attempt >= this.retries) throw result.error
      // An expired signature: ask for a fresh part URL (a single PUT continues as part 1 of 1).
      if (result.expired) url = undefined
      await this.backoff(attempt, signal)
    }
  }

  /** Reports the bytes sent so far; a retried part is counted from zero again but progress never drops. */
  private progress() {
    let loaded = 0
    for (const bytes of this.sent.values()) loaded += bytes
    loaded = Math.min(this.file.size, Math.max(this.reported, loaded))
    if (loaded === this.reported && this.started) return
    this.started = true
    this.reported = loaded
    this.options.onProgress?.({ attachmentId: this.id, loaded, total: this.file.size })
  }

  private backoff(attempt: number, signal = this.signal): Promise<void> {
    const delay = this.retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2)
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, delay)
      const onAbort = () => {
        clearTimeout(timer)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

function missingParts(error: ApiRequestError): number[] | null {
  if (error.status !== 409) return null
  const details = error.details as { missing_parts?: unknown } | undefined
  const missing = details?.missing_parts
  return Array.isArray(missing) && missing.every((n) => Number.isInteger(n)) ? (missing as number[]) : null
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index)

function nameOf(file: Blob): string {
  return 'name' in file && typeof file.name === 'string' && file.name !== '' ? file.name : 'upload'
}

/** The store's refusal as an ApiRequestError: Parley's JSON error, or (S3's XML) a code from the status. */
function putError(status: number, text: string): PutResult {
  let code: ErrorCode = codeOfStatus(status)
  let message = `The upload was refused (HTTP ${status})`
  let details: unknown
  try {
    const error = (JSON.parse(text) as Partial<ApiErrorBody>).error
    if (error?.code) {
      code = error.code
      message = error.message ?? message
      details = error.details
    }
  } catch {
    const s3Code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1]
    if (s3Code) message = `${message}: ${s3Code}`
  }
  return {
    ok: false,
    error: new ApiRequestError(status, code, message, details),
    // A full store (507) or a method the store lacks (501) will not change by trying again soon.
    retryable: [0, 403, 408, 429].includes(status) || (status >= 500 && status !== 501 && status !== 507),
    // Both stores answer an expired or bad signature with 403.
    expired: status === 403,
  }
}

function codeOfStatus(status: number): ErrorCode {
  if (status === 0) return 'service_unavailable'
  if (status === 403) return 'forbidden'
  if (status === 404) return 'not_found'
  if (status === 409) return 'conflict'
  if (status === 413) return 'payload_too_large'
  if (status === 429) return 'rate_limited'
  if (status === 507) return 'insufficient_storage'
  if (status >= 500) return 'service_unavailable'
  return 'bad_request'
}

const networkError = (reason: unknown): PutResult => ({
  ok: false,
  error: new ApiRequestError(
    0,
    'service_unavailable',
    `The upload connection failed: ${reason instanceof Error ? reason.message : String(reason)}`,
  ),
  retryable: true,
  expired: false,
})

function defaultTransport(fetchImpl: typeof fetch): PutTransport {
  if (typeof XMLHttpRequest !== 'undefined') return xhrPut
  const runtime = (globalThis as { process?: { versions?: { node?: string } } }).process
  return runtime?.versions?.node ? countedFetchPut(fetchImpl) : plainFetchPut(fetchImpl)
}

/** Browsers: fetch has no upload progress, XMLHttpRequest does. */
const xhrPut: PutTransport = (url, body, onSent, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const xhr = new XMLHttpRequest()
    const onAbort = () => xhr.abort()
    const done = () => signal.removeEventListener('abort', onAbort)
    xhr.open('PUT', url)
    xhr.upload.onprogress = (event) => onSent(event.loaded)
    xhr.onload = () => {
      done()
      resolve(xhr.status >= 200 && xhr.status < 300 ? { ok: true } : putError(xhr.status, xhr.responseText))
    }
    xhr.onerror = () => {
      done()
      resolve(networkError(new Error('network error')))
    }
    xhr.onabort = () => {
      done()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    xhr.send(body)
  })

/** Bytes handed to fetch at a time: small enough for smooth progress, big enough to cost nothing. */
const PROGRESS_CHUNK_BYTES = 64 * 1024

/**
 * Node: the body as a stream handing fetch one small slice per read (a Blob's own stream may be one
 * chunk), counted as fetch takes them. Node's fetch keeps the given Content-Length (a presigned S3 PUT
 * needs it; chunked encoding is refused).
 */
function countedFetchPut(fetchImpl: typeof fetch): PutTransport {
  return async (url, body, onSent, signal) => {
    const init: RequestInit & { duplex: 'half' } = {
      method: 'PUT',
      body: countedStream(body, onSent),
      duplex: 'half',
      headers: { 'content-length': String(body.size) },
      signal,
    }
    return fetchPut(fetchImpl, url, init, signal)
  }
}

function countedStream(body: Blob, onSent: (bytes: number) => void): ReadableStream<Uint8Array> {
  const reader = body.stream().getReader()
  let pending = new Uint8Array(0)
  let sent = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending.byteLength === 0) {
          const next = await reader.read()
          if (next.done) return controller.close()
          pending = next.value
        }
        const slice = pending.subarray(0, PROGRESS_CHUNK_BYTES)
        pending = pending.subarray(slice.byteLength)
        sent += slice.byteLength
        onSent(sent)
        controller.enqueue(slice)
      },
      cancel: (reason) => reader.cancel(reason),
    },
    // Nothing read ahead: a slice is counted when fetch asks for it.
    { highWaterMark: 0 },
  )
}

/** Other runtimes (workers): no way to count a streamed body with a Content-Length, so no progress mid-part. */
function plainFetchPut(fetchImpl: typeof fetch): PutTransport {
  return (url, body, _onSent, signal) => fetchPut(fetchImpl, url, { method: 'PUT', body, signal }, signal)
}

async function fetchPut(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  signal: AbortSignal,
): Promise<PutResult> {
  try {
    const response = await fetchImpl(url, init)
    const text = await response.text()
    return response.ok ? { ok: true } : putError(response.status, text)
  } catch (error) {
    if (signal.aborted) throw signal.reason
    return networkError(error)
  }
}
