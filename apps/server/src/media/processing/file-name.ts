const MAX_BYTES = 255

/**
 * Control characters, bidirectional overrides and isolates (which make `invoice‮fdp.exe` read as
 * `invoiceexe.pdf`), zero-width and other invisible format characters.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029\uFFF9-\uFFFB]/gu
/** Characters no file system or Content-Disposition header takes well. */
const RESERVED = /[\\/:*?"<>|]/g

function truncateUtf8(text: string, maxBytes: number): string {
  let result = ''
  let bytes = 0
  for (const character of text) {
    const size = Buffer.byteLength(character)
    if (bytes + size > maxBytes) break
    result += character
    bytes += size
  }
  return result
}

/**
 * A name safe to show and to put in Content-Disposition: the last path segment only (no `../`), NFC,
 * no controls, bidi overrides or reserved characters, no leading dots (hidden files), at most 255
 * UTF-8 bytes with the extension kept when it is cut. Null when nothing usable is left.
 */
export function safeFileName(raw: string | null): string | null {
  if (raw === null) return null
  const segments = raw.normalize('NFC').split(/[\\/]/)
  let name = (segments[segments.length - 1] ?? '')
    .replace(/[\t\n\v\f\r]/g, ' ')
    .replace(UNSAFE, '')
    .replace(RESERVED, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '')
  if (name === '' || name === '.' || name === '..') return null
  if (Buffer.byteLength(name) > MAX_BYTES) {
    const dot = name.lastIndexOf('.')
    const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
    name =
      truncateUtf8(name.slice(0, name.length - extension.length), MAX_BYTES - Buffer.byteLength(extension)) +
      extension
  }
  return name
}
