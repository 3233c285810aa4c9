import type { Attachment } from '@parley/protocol'
import type { AttachmentRow } from '../store/schema.ts'
import { iso } from './time.ts'

/** Stored variants by name (AttachmentsTable.variants). */
export interface StoredVariant {
  key: string
  mime: string
  size: number
  width: number | null
  height: number | null
}
export type StoredVariants = Partial<Record<string, StoredVariant>>

export function variantsOf(row: Pick<AttachmentRow, 'variants'>): StoredVariants {
  return row.variants ? (JSON.parse(row.variants) as StoredVariants) : {}
}

/**
 * The stable URL of an attachment (or one of its variants). It answers an authorised caller with a
 * redirect to a short-lived signed URL, so it can be stored in messages and in the update log.
 */
export function attachmentUrl(baseUrl: string | null, id: number, variant?: string): string {
  return `${baseUrl ?? ''}/api/media/${id}${variant ? `/${variant}` : ''}`
}

export function presentAttachment(row: AttachmentRow, baseUrl: string | null): Attachment {
  const ready = row.state === 'ready'
  const variants = variantsOf(row)
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    mime_type: row.mime ?? row.declared_mime,
    size: row.size,
    file_name: row.file_name,
    width: row.width,
    height: row.height,
    duration_ms: row.duration_ms,
    placeholder: row.placeholder,
    waveform: row.waveform,
    media_url: ready ? attachmentUrl(baseUrl, row.id) : null,
    thumbnail_url: ready && variants.thumbnail ? attachmentUrl(baseUrl, row.id, 'thumbnail') : null,
    reject_reason: row.reject_reason,
    created_at: iso(row.created_at),
  }
}
