import type { IncomingMessage } from 'node:http'
import {
  AttachmentParams,
  AttachmentResponse,
  SignUploadBody,
  SignUploadResponse,
  SuccessOnly,
  UploadPartsBody,
  UploadPartsResponse,
  UploadStateResponse,
} from '@parley/protocol'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { mayFetchAttachment } from '../../access/attachments.ts'
import type { Deps } from '../../deps.ts'
import { ApiError, errors } from '../../errors.ts'
import { enforceLimit, userLimitKey } from '../../limits/enforce.ts'
import { BlobNotFound } from '../../media/storage/blob-store.ts'
import { DISK_BLOB_PATH, DISK_UPLOAD_PATH, DiskBlobStore } from '../../media/storage/disk.ts'
import { completeUpload, partUrls, receiveDiskUpload, signUpload, uploadState } from '../../media/uploads.ts'
import { presentAttachment, variantsOf } from '../../presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../../store/attachment.repository.ts'
import type { AttachmentRow } from '../../store/schema.ts'
import { authenticate, authenticateToken, bearerToken, caller } from '../plugins/authenticate.ts'
import type { Metrics } from '../plugins/metrics.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

export const MEDIA_COOKIE = 'parley_media'
const VARIANTS = ['original', 'display', 'thumbnail', 'avatar_150', 'avatar_300', 'avatar_600'] as const

/** Types a browser shows in place without running anything; everything else is a download. */
const INLINE = /^(image\/(jpeg|png|gif|webp|avif)|video\/[a-z0-9.+-]+|audio\/[a-z0-9.+-]+)$/

/** Never served as themselves: a browser would run them (HTML, SVG, XML, scripts). */
const ACTIVE =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript)$/

/** Content-Type and Content-Disposition of a served blob: only plain media inline, never active content. */
export function servedAs(
  mime: string,
  fileName: string | null,
): { contentType: string; disposition: string } {
  const contentType = ACTIVE.test(mime) ? 'application/octet-stream' : mime
  if (INLINE.test(contentType)) return { contentType, disposition: 'inline' }
  const name = fileName ?? 'download'
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return {
    contentType,
    disposition: `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
  }
}

function cookieValue(request: FastifyRequest, name: string): string | null {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = pair.trim().split('=')
    if (key === name) return rest.join('=') || null
  }
  return null
}

/** The public origin of this server, for absolute URLs (disk URLs are paths on it). */
function baseUrl(deps: Deps, request: FastifyRequest): string {
  return deps.config.publicUrl ?? `${request.protocol}://${request.host}`
}

const absolute = (url: string, base: string) => new URL(url, base).toString()

export function mediaRoutes(
  app: App,
  deps: Deps,
  metrics: Pick<Metrics, 'uploadsTotal' | 'mediaRefusalsTotal'>,
) {
  /** Counts a refusal or rejection by its reason (details.reason, else the error code). */
  const countRefusal = (error: unknown, outcome: 'refused' | 'rejected') => {
    if (!(error instanceof ApiError) || ![413, 415, 422, 429, 507].includes(error.status)) return
    const details = error.details as { reason?: unknown } | undefined
    metrics.uploadsTotal.inc({ outcome })
    metrics.mediaRefusalsTotal.inc({
      reason: typeof details?.reason === 'string' ? details.reason : error.code,
    })
  }
  const onRequest = authenticate(deps)
  const ttl = deps.config.mediaUrlTtlSeconds
  const attachments = new AttachmentRepository(deps.store.db)

  app.post(
    '/api/upload/sign',
    {
      onRequest,
      schema: {
        tags: ['media'],
        summary: 'Start a direct upload (seed 000)',
        description:
          'Checks the kind’s size limit, the upload rate and your quota before any byte is sent, then answers `upload_url`: PUT the whole file there (exactly `size` bytes) within `expires_in` seconds, then `POST /api/upload/{id}/complete`. Large files may go in parts instead (`POST /api/upload/{id}/parts`), resumable after a dropped connection. docs/api/media.md.',
        security: secured,
        body: SignUploadBody,
        response: { 201: SignUploadResponse, ...errorsOf(400, 401, 413, 429, 507) },
      },
    },
    async (request, reply) => {
      const signed = await signUpload(deps, caller(request).userId, request.body).catch((error: unknown) => {
        countRefusal(error, 'refused')
        throw error
      })
      metrics.uploadsTotal.inc({ outcome: 'signed' })
      const base = baseUrl(deps, request)
      return reply.code(201).send({
        success: true as const,
        attachment_id: signed.row.id,
        upload_url: absolute(signed.uploadUrl, base),
        method: 'PUT' as const,
        headers: {},
        expires_in: signed.ttl,
        part_size: signed.partSize,
        part_count: signed.partCount,
        attachment: presentAttachment(signed.row, deps.config.publicUrl),
      })
    },
  )

  app.post(
    '/api/upload/:id/parts',
    {
      onRequest,
      schema: {
        tags: ['media'],
        summary: 'Signed URLs for parts of a resumable upload',
        description:
          'PUT part N (1-based; `part_size` bytes, the last one the rest) to its URL. Ask again for fresh URLs whenever they expire; parts already received stay.',
        security: secured,
        params: AttachmentParams,
        body: UploadPartsBody,
        response: { 200: UploadPartsResponse, ...errorsOf(400, 401, 404, 409, 429, 507) },
      },
    },
    async (request) => {
      const { parts, ttl: expiresIn } = await partUrls(
        deps,
        caller(request).userId,
        request.params.id,
        request.body.part_numbers,
      )
      const base = baseUrl(deps, request)
      return {
        success: true as const,
        parts: parts.map((part) => ({ part_number: part.part_number, url: absolute(part.url, base) })),
        method: 'PUT' as const,
        expires_in: expiresIn,
      }
    },
  )

  app.get(
    '/api/upload/:id',
    {
      onRequest,
      schema: {
        tags: ['media'],
        summary: 'Where an upload stands (to resume it)',
        description: 'The attachment and the parts received so far: resume from the first missing part.',
        security: secured,
        params: AttachmentParams,
        response: { 200: UploadStateResponse, ...errorsOf(401, 404, 429) },
      },
    },
    async (request) => {
      const { row, upload } = await uploadState(deps, caller(request).userId, request.params.id)
      return { success: true as const, attachment: presentAttachment(row, deps.config.publicUrl), upload }
    },
  )

  app.post(
    '/api/upload/:id/complete',
    {
      onRequest,
      schema: {
        tags: ['media'],
        summary: 'Finish an upload: check and process the file',
        description:
          'Answers the ready attachment, or the coded refusal (`415 unsupported_media_type`, `422 media_rejected` with `details.reason`). Idempotent: asking again gives the same answer. `409` before all bytes have arrived.',
        security: secured,
        params: AttachmentParams,
        response: { 200: AttachmentResponse, ...errorsOf(401, 404, 409, 413, 415, 422, 429, 503, 507) },
      },
    },
    async (request) => {
      const before = await attachments.findById(request.params.id)
      const row = await completeUpload(deps, caller(request).userId, request.params.id).catch(
        (error: unknown) => {
          // A repeated complete gives the same answer but is not counted twice.
          if (before?.state === 'uploading') countRefusal(error, 'rejected')
          throw error
        },
      )
      if (before?.state === 'uploading') metrics.uploadsTotal.inc({ outcome: 'ready' })
      return { success: true as const, attachment: presentAttachment(row, deps.config.publicUrl) }
    },
  )

  /** Bearer, or the parley_media cookie (so `<img src>` works); the per-user limit applies. */
  const mediaAuth = async (request: FastifyRequest) => {
    const token = bearerToken(request) ?? cookieValue(request, MEDIA_COOKIE)
    if (!token) throw errors.unauthorized()
    request.auth = await authenticateToken(deps, token, request.ip)
    await enforceLimit(deps, userLimitKey(request.auth.userId), deps.config.rateLimitPerUser)
  }

  const redirectToBlob = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: number,
    variant: (typeof VARIANTS)[number] | null,
  ) => {
    const row = await attachments.findById(id)
    const viewerId = caller(request).userId
    if (row?.state !== 'ready' || !(await mayFetchAttachment(deps, viewerId, row)))
      throw errors.notFound('Attachment')
    const target = blobOf(row, variant)
    if (!target) throw errors.notFound('Attachment variant')
    const served = servedAs(target.mime, row.file_name)
    const url = await deps.blobs.signedGetUrl(target.key, { ttl, ...served })
    // Cached below the signature's life, so a cached redirect never points at an expired URL.
    const maxAge = Math.max(0, Math.floor(ttl / 2))
    return reply
      .code(302)
      .header('cache-control', `private, max-age=${maxAge}`)
      .header('location', absolute(url, baseUrl(deps, request)))
      .send()
  }

  const MediaIdParams = Type.Object({ id: AttachmentParams.properties.id }, { additionalProperties: false })
  const MediaVariantParams = Type.Object(
    {
      id: AttachmentParams.properties.id,
      variant: Type.Union(VARIANTS.map((name) => Type.Literal(name))),
    },
    { additionalProperties: false },
  )
  const redirectDoc =
    'Checks that you may see the attachment (its owner; a member who can see a message holding it; a profile photo visible to you; your group’s photo) and answers `302` to a short-lived signed URL. Auth: Bearer, or the `parley_media` cookie (`POST /api/media/cookie`). Anyone else: `404`.'

  app.get(
    '/api/media/:id',
    {
      onRequest: mediaAuth,
      schema: {
        tags: ['media'],
        summary: 'Fetch an attachment (redirect to a signed URL)',
        description: `${redirectDoc} Images: the display size when there is one, else the original.`,
        security: [...secured, { mediaCookie: [] }],
        params: MediaIdParams,
        response: { 302: Type.Null(), ...errorsOf(401, 404, 429) },
      },
    },
    (request, reply) => redirectToBlob(request, reply, request.params.id, null),
  )

  app.get(
    '/api/media/:id/:variant',
    {
      onRequest: mediaAuth,
      schema: {
        tags: ['media'],
        summary: 'Fetch a variant of an attachment (redirect to a signed URL)',
        description: `${redirectDoc} \`404\` when the attachment has no such variant.`,
        security: [...secured, { mediaCookie: [] }],
        params: MediaVariantParams,
        response: { 302: Type.Null(), ...errorsOf(400, 401, 404, 429) },
      },
    },
    (request, reply) => redirectToBlob(request, reply, request.params.id, request.params.variant),
  )

  app.post(
    '/api/media/cookie',
    {
      onRequest,
      schema: {
        tags: ['media'],
        summary: 'Set the media cookie (for <img src> in browsers)',
        description:
          'Sets `parley_media`, an HttpOnly SameSite=Strict cookie for `/api/media` only, holding your access token: browsers can then load `/api/media/*` URLs without an Authorization header. Call it again after refreshing the token.',
        security: secured,
        response: { 200: SuccessOnly, ...errorsOf(401, 429) },
      },
    },
    async (request, reply) => {
      const token = bearerToken(request)
      if (!token) throw errors.unauthorized()
      const secure = deps.config.publicUrl?.startsWith('https://') || request.protocol === 'https'
      const cookie = [
        `${MEDIA_COOKIE}=${token}`,
        'Path=/api/media',
        'HttpOnly',
        'SameSite=Strict',
        `Max-Age=${deps.config.accessTokenTtlSeconds}`,
        ...(secure ? ['Secure'] : []),
      ].join('; ')
      return reply.header('set-cookie', cookie).send({ success: true as const })
    },
  )

  if (deps.blobs instanceof DiskBlobStore) diskBlobRoutes(app, deps, deps.blobs)
}

/** The stored blob a request names: the display variant by default for images, else the original. */
function blobOf(
  row: AttachmentRow,
  variant: (typeof VARIANTS)[number] | null,
): { key: string; mime: string } | null {
  const mime = row.mime ?? row.declared_mime
  const variants = variantsOf(row)
  if (variant === 'original') return { key: row.storage_key, mime }
  if (variant === null) {
    const display = variants.display
    return display ? { key: display.key, mime: display.mime } : { key: row.storage_key, mime }
  }
  const stored = variants[variant]
  return stored ? { key: stored.key, mime: stored.mime } : null
}

/**
 * Disk store: the signed URLs' routes. They need no session (the HMAC is the permission), so browsers
 * can PUT and load them directly. Their own plugin scope, so the raw-body parser (uploads are
 * streamed to disk, never buffered) applies here only.
 */
function diskBlobRoutes(app: App, deps: Deps, store: DiskBlobStore) {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    // Leaves the body unread in request.raw for the handler to stream.
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null))

    const signedQuery = Type.Record(Type.String(), Type.String())

    scope.put(
      `${DISK_UPLOAD_PATH}*`,
      { schema: { hide: true, querystring: signedQuery } },
      async (request, reply) => {
        const key = (request.params as { '*': string })['*']
        const grant = store.verify(DISK_UPLOAD_PATH, key, request.query as Record<string, string>)
        if (!grant || grant.action === 'get')
          throw errors.forbidden('This upload URL is invalid or has expired')
        const length = request.headers['content-length']
        const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null
        const { size } = await receiveDiskUpload(deps, store, grant, request.raw as IncomingMessage, declared)
        return reply.header('etag', `"${size}"`).send({ success: true, size })
      },
    )

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const key = (request.params as { '*': string })['*']
      const grant = store.verify(DISK_BLOB_PATH, key, request.query as Record<string, string>)
      if (grant?.action !== 'get') throw errors.forbidden('This media URL is invalid or has expired')
      const head = await store.head(key)
      if (!head) throw errors.notFound('Media')
      // Keys are never reused for other bytes, so the key names the content.
      const etag = `"${Buffer.from(key).toString('base64url')}"`
      const maxAge = Math.max(0, Math.floor((grant.expiresAt - deps.clock.now()) / 1000))
      void reply
        .header('cache-control', `private, max-age=${maxAge}, immutable`)
        .header('etag', etag)
        .header('accept-ranges', 'bytes')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('content-disposition', grant.disposition)
        .header('content-type', grant.contentType)
      if (request.headers['if-none-match']?.split(',').some((tag) => tag.trim() === etag))
        return reply.code(304).send()
      const range = parseRange(request.headers.range, head.size)
      if (range === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${head.size}`)
          .header('content-type', 'application/json; charset=utf-8')
          .header('content-disposition', 'inline')
          .send({ success: false, error: { code: 'bad_request', message: 'The range is outside the file' } })
      }
      const length = range ? range.end - range.start + 1 : head.size
      void reply.header('content-length', String(length))
      if (range)
        void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${head.size}`)
      if (request.method === 'HEAD' || length === 0) return reply.send()
      try {
        return reply.send(await store.get(key, range ?? undefined))
      } catch (error) {
        if (error instanceof BlobNotFound) throw errors.notFound('Media')
        throw error
      }
    }
    scope.get(`${DISK_BLOB_PATH}*`, { schema: { hide: true, querystring: signedQuery } }, serve)
  })
}

/** One `bytes=` range (the only kind media players send); several ranges are answered whole. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) return null
  const [, from = '', to = ''] = match
  if (from === '' && to === '') return null
  if (from === '') {
    const suffix = Number(to)
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(from)
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}
