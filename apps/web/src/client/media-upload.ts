import type { Message } from '@parley/protocol'

/** An upload's refusal as the server coded it (413 payload_too_large, 415, 422 …), or a network failure. */
export interface UploadError {
  status: number
  code: string
  message: string
}

export interface MultipartSend {
  url: string
  token: string
  fields: Readonly<Record<string, string>>
  files: readonly File[]
  onProgress: (fraction: number) => void
}

export interface UploadHandle {
  done: Promise<Message>
  cancel: () => void
}

/** Thrown into `done` when the sender cancelled: not an error to show. */
export class UploadCancelled extends Error {
  constructor() {
    super('upload cancelled')
    this.name = 'UploadCancelled'
  }
}

/**
 * One multipart message send over XMLHttpRequest: fetch cannot report upload progress. Fields go before
 * the files (the server reads the parts in order and processes each file as it arrives).
 */
export function sendMultipart({ url, token, fields, files, onProgress }: MultipartSend): UploadHandle {
  const xhr = new XMLHttpRequest()
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  for (const file of files) form.append('file', file, file.name)
  const done = new Promise<Message>((resolve, reject) => {
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total)
    })
    xhr.addEventListener('abort', () => reject(new UploadCancelled()))
    xhr.addEventListener('error', () =>
      reject(errorOf({ status: 0, code: 'network_error', message: 'network error' })),
    )
    xhr.addEventListener('load', () => {
      const body = parse(xhr.responseText)
      if (xhr.status >= 200 && xhr.status < 300 && isMessageResponse(body)) {
        resolve(body.message)
        return
      }
      const error = isErrorResponse(body) ? body.error : null
      reject(
        errorOf({
          status: xhr.status,
          code: error?.code ?? 'http_error',
          message: error?.message ?? `HTTP ${xhr.status}`,
        }),
      )
    })
  })
  xhr.open('POST', url)
  xhr.setRequestHeader('authorization', `Bearer ${token}`)
  xhr.send(form)
  return { done, cancel: () => xhr.abort() }
}

export class UploadFailed extends Error {
  constructor(readonly detail: UploadError) {
    super(detail.message)
    this.name = 'UploadFailed'
  }
}

function errorOf(detail: UploadError): UploadFailed {
  return new UploadFailed(detail)
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function isMessageResponse(body: unknown): body is { message: Message } {
  return typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'object'
}

function isErrorResponse(body: unknown): body is { error: { code?: string; message?: string } } {
  return typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object'
}
