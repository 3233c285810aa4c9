import type { MediaKind, RejectReason } from '@parley/protocol'

/**
 * The contract between the upload pipeline (media/ingest.ts, which owns storage, states and queues)
 * and processing (media/processing/*, pure work on local files: no database, no HTTP, no storage).
 */
export interface ProcessInput {
  /** A local file holding every byte of the upload. */
  path: string
  /** The kind the client asked for (from the form field, the sign request, or the declared type). */
  kind: MediaKind
  /** The type the client declared; the bytes must agree (else `type_mismatch`). */
  declaredMime: string
  /** The client's file name, unsafe as given. */
  fileName: string | null
  /** A private temporary directory for variant files; the caller removes it afterwards. */
  workDir: string
  /** What the file is for: an avatar gets square avatar sizes instead of display + thumbnail. */
  purpose: 'message' | 'avatar'
  /** Largest width × height an image may decode to (decompression bombs). */
  maxPixels: number
}

/**
 * A file processing made, to be stored beside the upload. `original` replaces the uploaded bytes when
 * present (an image re-encoded without EXIF/GPS and auto-oriented): the uploaded bytes are then never
 * served.
 */
export interface ProcessedVariant {
  name: VariantName
  path: string
  mime: string
  size: number
  width: number | null
  height: number | null
}
/** `display`: at most 1200 px a side; `thumbnail`: at most 300 px; avatars: squares of 150/300/600 px. */
export type VariantName = 'original' | 'display' | 'thumbnail' | 'avatar_150' | 'avatar_300' | 'avatar_600'

export interface ProcessedMedia {
  /** The type sniffed from the bytes (what the file is served as). */
  mime: string
  width: number | null
  height: number | null
  durationMs: number | null
  /** ThumbHash of the image or video poster, base64. */
  placeholder: string | null
  /** Voice notes: 64 amplitude samples 0–255, base64. */
  waveform: string | null
  /** A name safe to show and to put in Content-Disposition (no path, no controls), or null. */
  fileName: string | null
  variants: ProcessedVariant[]
}

/** The bytes are refused; `reason` goes to the client (`media_rejected`, or 415 for type reasons). */
export class MediaRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message)
    this.name = 'MediaRejected'
  }
}

/** A virus scanner (ClamAV's clamd in production and CI). */
export interface VirusScanner {
  /** Resolves `null` when clean, or the signature name when infected; rejects when it cannot scan. */
  scanFile(path: string): Promise<string | null>
}
