import fs from 'node:fs'
import { MEDIA_TYPES, type MediaKind } from '@parley/protocol'
import { fileTypeFromFile } from 'file-type'
import { MediaRejected } from './types.ts'

/**
 * Types a browser would run or render as a page. Refused for every kind, documents included: served
 * from our origin they would be stored XSS, whatever Content-Disposition says.
 */
const ACTIVE_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/ecmascript',
  'application/x-sh',
  'text/x-shellscript',
  'application/x-httpd-php',
  'text/x-python',
  'application/x-msdownload',
  'application/x-shockwave-flash',
  'application/vnd.ms-htmlhelp',
])

/**
 * Markup a browser may sniff as a page or an image with script, looked for in a file's first bytes.
 * For images these mean a polyglot; for anything else an active type.
 */
const MARKUP = /<(?:!doctype\s+html|html|head|body|script|svg|iframe|object|embed|\?xml)/i

const HEAD_BYTES = 1024

/**
 * Names one type several ways: browsers and recorders declare `audio/x-m4a`, `audio/mp3`, `image/jpg`;
 * file-type names some with parameters. The canonical spelling is what MEDIA_TYPES uses.
 */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/mp3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-flac': 'audio/flac',
  'audio/x-aac': 'audio/aac',
  'application/x-zip-compressed': 'application/zip',
  'application/msword': 'application/x-cfb',
  'application/vnd.ms-excel': 'application/x-cfb',
  'application/vnd.ms-powerpoint': 'application/x-cfb',
}

/** One container, several names: an audio-only MP4 is `video/mp4` to a sniffer and `audio/mp4` to a recorder. */
const FAMILIES: Record<string, string> = {
  'video/mp4': 'mp4',
  'audio/mp4': 'mp4',
  'video/quicktime': 'mp4',
  'video/webm': 'webm',
  'audio/webm': 'webm',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'video/ogg': 'ogg',
  'application/ogg': 'ogg',
}

export function canonicalMime(mime: string): string {
  const bare = mime.split(';')[0]!.trim().toLowerCase()
  return ALIASES[bare] ?? bare
}

function family(mime: string): string {
  return FAMILIES[mime] ?? mime
}

/** Types that say nothing about the bytes: any sniffed type agrees with them (documents only). */
const GENERIC = new Set(['application/octet-stream', 'binary/octet-stream', ''])
/** Text a document may declare when no magic number names it; it must then be text. */
const PLAIN_TEXT = new Set(['text/plain', 'text/csv', 'text/markdown', 'text/tab-separated-values'])

export interface Sniffed {
  /** The canonical type the file is served as. */
  mime: string
  /** The first bytes, for the polyglot check. */
  head: Buffer
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await fs.promises.open(path, 'r')
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

export function hasMarkup(bytes: Buffer): boolean {
  return MARKUP.test(bytes.toString('latin1'))
}

/** Valid UTF-8 with no NUL: what a declared text document must be. */
function looksLikeText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false
  // A multi-byte character may be cut at the end of the head; drop up to three trailing bytes.
  for (let cut = 0; cut <= 3 && cut < bytes.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - cut))
      return true
    } catch {}
  }
  return false
}

/**
 * The real type of the bytes, checked against the declared type and the kind. Throws MediaRejected:
 * `type_mismatch` when the bytes are not what the client declared, `type_not_allowed` when the kind
 * does not take them (or they are a page, an SVG, XML or a script).
 */
export async function sniffType(path: string, kind: MediaKind, declaredMime: string): Promise<Sniffed> {
  const head = await readHead(path)
  if (head.length === 0) throw new MediaRejected('empty', 'the file is empty')
  const declared = canonicalMime(declaredMime)
  if (ACTIVE_TYPES.has(declared))
    throw new MediaRejected('type_not_allowed', `${declared} is never accepted: a browser would run it`)
  const detected = await fileTypeFromFile(path)
  const sniffed = detected ? canonicalMime(detected.mime) : null
  if (sniffed && ACTIVE_TYPES.has(sniffed))
    throw new MediaRejected('type_not_allowed', `${sniffed} is never accepted: a browser would run it`)

  if (kind === 'document') {
    if (!sniffed) {
      if (hasMarkup(head))
        throw new MediaRejected('type_not_allowed', 'markup (HTML, SVG, XML) is not accepted')
      if (PLAIN_TEXT.has(declared) && looksLikeText(head)) return { mime: declared, head }
      // A type no magic number proves is served as opaque bytes, never as declared.
      return { mime: 'application/octet-stream', head }
    }
    if (!GENERIC.has(declared) && family(declared) !== family(sniffed))
      throw new MediaRejected('type_mismatch', `declared ${declared}, the bytes are ${sniffed}`)
    return { mime: sniffed, head }
  }

  const accepted = MEDIA_TYPES[kind]
  if (!sniffed) {
    if (hasMarkup(head))
      throw new MediaRejected('type_not_allowed', 'markup (HTML, SVG, XML) is not accepted')
    throw new MediaRejected(
      accepted.includes(declared) ? 'type_mismatch' : 'type_not_allowed',
      `declared ${declared}, the bytes are of no ${kind} type`,
    )
  }
  if (family(declared) !== family(sniffed))
    throw new MediaRejected('type_mismatch', `declared ${declared}, the bytes are ${sniffed}`)
  // Within one container family the kind decides the name: a voice note in WebM is audio/webm.
  const mime = accepted.includes(sniffed)
    ? sniffed
    : (accepted.find((type) => family(type) === family(sniffed) && type === declared) ??
      accepted.find((type) => family(type) === family(sniffed) && type.startsWith(`${kindTop(kind)}/`)))
  if (!mime) throw new MediaRejected('type_not_allowed', `a ${kind} may not be ${sniffed}`)
  return { mime, head }
}

function kindTop(kind: Exclude<MediaKind, 'document'>): string {
  return kind === 'video' ? 'video' : kind === 'audio' || kind === 'voice' ? 'audio' : 'image'
}
