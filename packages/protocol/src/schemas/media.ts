import { type Static, Type } from '@sinclair/typebox'
import { Id, Nullable, PlainText, Timestamp } from './common.ts'

/**
 * What an attachment is, for limits, processing and how clients show it. `voice` is a recorded note
 * (shown with a waveform), `audio` a music or sound file; `gif` is an animation shown like a video
 * without sound; `sticker` a small image shown without a bubble.
 */
export const MEDIA_KINDS = ['image', 'video', 'audio', 'voice', 'document', 'gif', 'sticker'] as const
export type MediaKind = (typeof MEDIA_KINDS)[number]
export const MediaKindSchema = Type.Union(MEDIA_KINDS.map((kind) => Type.Literal(kind)))

const MB = 1024 * 1024
/** Largest file per kind, bytes (seed 002's table; voice as audio, gif and sticker as images). */
export const MEDIA_SIZE_LIMITS: Readonly<Record<MediaKind, number>> = {
  image: 10 * MB,
  video: 100 * MB,
  audio: 50 * MB,
  voice: 50 * MB,
  document: 20 * MB,
  gif: 10 * MB,
  sticker: 1 * MB,
}

/**
 * The types each kind accepts, as sniffed from the bytes (the declared type must agree). Documents take
 * any type but those a browser would run (HTML, SVG, XML, scripts): those are refused everywhere.
 */
export const MEDIA_TYPES: Readonly<Record<Exclude<MediaKind, 'document'>, readonly string[]>> = {
  image: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'],
  gif: ['image/gif', 'image/webp', 'video/mp4'],
  sticker: ['image/webp', 'image/png'],
  video: ['video/mp4', 'video/webm', 'video/quicktime'],
  audio: [
    'audio/mpeg',
    'audio/mp4',
    'audio/aac',
    'audio/ogg',
    'audio/opus',
    'audio/wav',
    'audio/webm',
    'audio/flac',
  ],
  voice: ['audio/ogg', 'audio/opus', 'audio/mp4', 'audio/aac', 'audio/mpeg', 'audio/webm', 'audio/wav'],
}

/**
 * `uploading`: signed, bytes not (all) there yet. `processing`: bytes stored, being checked (type,
 * scan, thumbnails). `ready`: may be attached and served. `rejected`: refused (`reject_reason`); never
 * served, removed by housekeeping.
 */
export const AttachmentState = Type.Union([
  Type.Literal('uploading'),
  Type.Literal('processing'),
  Type.Literal('ready'),
  Type.Literal('rejected'),
])
export type AttachmentState = Static<typeof AttachmentState>

/** Why an attachment was refused after its bytes arrived. */
export const RejectReason = Type.Union([
  Type.Literal('type_mismatch'),
  Type.Literal('type_not_allowed'),
  Type.Literal('too_large'),
  Type.Literal('too_many_pixels'),
  Type.Literal('corrupt'),
  Type.Literal('polyglot'),
  Type.Literal('infected'),
  Type.Literal('empty'),
])
export type RejectReason = Static<typeof RejectReason>

/**
 * An attachment as anyone allowed to see it sees it. `media_url` / `thumbnail_url` are stable Parley
 * URLs (`/api/media/{id}`, `/api/media/{id}/thumbnail`): they answer an authorised caller with a redirect
 * to a short-lived signed URL (docs/api/media.md). `placeholder` is a ThumbHash (base64) a client can
 * paint before the thumbnail loads; `waveform` (voice) is 0–255 amplitude samples, base64.
 */
export const Attachment = Type.Object({
  id: Id,
  kind: MediaKindSchema,
  state: AttachmentState,
  mime_type: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  file_name: Nullable(Type.String()),
  width: Nullable(Type.Integer()),
  height: Nullable(Type.Integer()),
  duration_ms: Nullable(Type.Integer()),
  placeholder: Nullable(Type.String()),
  waveform: Nullable(Type.String()),
  media_url: Nullable(Type.String()),
  thumbnail_url: Nullable(Type.String()),
  reject_reason: Nullable(RejectReason),
  created_at: Timestamp,
})
export type Attachment = Static<typeof Attachment>

/** Seed 000's `POST /api/upload/sign`; `kind` defaults from the type (image/video/audio, else document). */
export const SignUploadBody = Type.Object(
  {
    filename: PlainText({ maxLength: 255 }),
    mime_type: Type.String({ minLength: 3, maxLength: 127, pattern: '^[a-z0-9.+-]+/[a-z0-9.+-]+$' }),
    size: Type.Integer({ minimum: 1, maximum: MEDIA_SIZE_LIMITS.video }),
    kind: Type.Optional(MediaKindSchema),
  },
  { additionalProperties: false },
)
export type SignUploadBody = Static<typeof SignUploadBody>

export const AttachmentParams = Type.Object({ id: Id }, { additionalProperties: false })

export const AttachmentResponse = Type.Object({ success: Type.Literal(true), attachment: Attachment })

/** The kind a declared type gets when the client names none. */
export function defaultKind(mimeType: string): MediaKind {
  if (mimeType.startsWith('image/')) return 'image'
  if (mimeType.startsWith('video/')) return 'video'
  if (mimeType.startsWith('audio/')) return 'audio'
  return 'document'
}

export const AttachmentIdList = Type.Array(Id, { minItems: 1, maxItems: 10, uniqueItems: true })
export const MAX_ATTACHMENTS_PER_MESSAGE = 10

/**
 * Resumable uploads go in parts of this many bytes (the last may be shorter): big enough for S3's
 * 5 MiB minimum, small enough that a dropped connection loses little.
 */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024
/** At most this many part URLs per `POST /api/upload/:id/parts`. */
export const MAX_PART_URLS_PER_REQUEST = 100

/** `POST /api/upload/sign`'s answer (seed 000's fields, plus what a resumable client needs). */
export const SignUploadResponse = Type.Object({
  success: Type.Literal(true),
  attachment_id: Id,
  /** PUT the whole file here (one request, exactly `size` bytes) before `expires_in` seconds pass. */
  upload_url: Type.String(),
  method: Type.Literal('PUT'),
  /** Headers the PUT must carry besides Content-Length (none today; clients should still send them). */
  headers: Type.Record(Type.String(), Type.String()),
  expires_in: Type.Integer({ minimum: 1 }),
  /** Resumable uploads: the file in `part_count` parts of `part_size` bytes (the last may be shorter). */
  part_size: Type.Integer({ minimum: 1 }),
  part_count: Type.Integer({ minimum: 1 }),
  attachment: Attachment,
})
export type SignUploadResponse = Static<typeof SignUploadResponse>

export const UploadPartsBody = Type.Object(
  {
    part_numbers: Type.Array(Type.Integer({ minimum: 1, maximum: 10000 }), {
      minItems: 1,
      maxItems: MAX_PART_URLS_PER_REQUEST,
      uniqueItems: true,
    }),
  },
  { additionalProperties: false },
)
export type UploadPartsBody = Static<typeof UploadPartsBody>

export const UploadPartsResponse = Type.Object({
  success: Type.Literal(true),
  parts: Type.Array(Type.Object({ part_number: Type.Integer({ minimum: 1 }), url: Type.String() })),
  method: Type.Literal('PUT'),
  expires_in: Type.Integer({ minimum: 1 }),
})
export type UploadPartsResponse = Static<typeof UploadPartsResponse>

/** `GET /api/upload/:id`: where an upload stands, so a client can resume after a dropped connection. */
export const UploadStateResponse = Type.Object({
  success: Type.Literal(true),
  attachment: Attachment,
  upload: Type.Object({
    size: Type.Integer({ minimum: 0 }),
    part_size: Type.Integer({ minimum: 1 }),
    part_count: Type.Integer({ minimum: 1 }),
    /** Parts complete on the store (a part cut off halfway is not listed); empty for a single PUT. */
    parts_received: Type.Array(
      Type.Object({ part_number: Type.Integer({ minimum: 1 }), size: Type.Integer({ minimum: 0 }) }),
    ),
    /** The whole file arrived in one PUT. */
    complete: Type.Boolean(),
  }),
})
export type UploadStateResponse = Static<typeof UploadStateResponse>
