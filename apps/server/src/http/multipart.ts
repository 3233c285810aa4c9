import type { MultipartFile } from '@fastify/multipart'
import {
  loneSurrogatePath,
  MAX_ATTACHMENTS_PER_MESSAGE,
  MEDIA_SIZE_LIMITS,
  nulBytePath,
} from '@parley/protocol'
import type { FastifyRequest } from 'fastify'
import { ApiError, errors } from '../errors.ts'

/**
 * Limits of every multipart body (@fastify/multipart, registered in app.ts). A file part may pass the
 * largest kind's limit by one byte: the kind's own limit (media/ingest.ts) is then the one that answers
 * 413, and a part is never cut short silently at the parser's limit.
 */
export const MULTIPART_LIMITS = {
  fileSize: Math.max(...Object.values(MEDIA_SIZE_LIMITS)) + 1,
  files: MAX_ATTACHMENTS_PER_MESSAGE,
  fields: 20,
  parts: MAX_ATTACHMENTS_PER_MESSAGE + 20,
  fieldSize: 64 * 1024,
  fieldNameSize: 100,
  headerPairs: 100,
}

export interface MultipartReader {
  /** Text fields the route takes; any other name is refused. */
  fields: ReadonlySet<string>
  /** Fields that may be given more than once (each value is handed over); the others only once. */
  repeated?: ReadonlySet<string>
  /** File fields the route takes, with how many files each may carry. */
  files: ReadonlyMap<string, number>
  onField(name: string, value: string): void
  /** Consumes the part's stream (an ingest); the next part is read only after it resolves. */
  onFile(name: string, part: MultipartFile): Promise<void>
}

const malformed = () => errors.badRequest('The multipart body is malformed')

/** What the parser threw, as the coded error the client gets: never a 500. */
function parserError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  const code = (error as { code?: unknown }).code
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return errors.payloadTooLarge(MULTIPART_LIMITS.fileSize - 1)
    case 'FST_FILES_LIMIT':
      return errors.validation(`At most ${MULTIPART_LIMITS.files} files`, [
        { field: 'file', message: `at most ${MULTIPART_LIMITS.files} files` },
      ])
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.validation('Too many fields in the multipart body', [
        { field: null, message: 'too many fields' },
      ])
    case 'FST_PROTO_VIOLATION':
      return errors.invalidBody('The multipart body names a forbidden field (__proto__)')
  }
  return malformed()
}

/**
 * Reads a multipart/form-data body part by part, in the order the client wrote them: each text field
 * is checked and handed over, each file is handed over as a stream and fully consumed before the next
 * part is read, so nothing is ever buffered whole. Unknown fields, repeated fields, too many files,
 * truncated values and a body the parser cannot read are all `400`; an oversized file is `413`.
 */
export async function readMultipart(request: FastifyRequest, reader: MultipartReader): Promise<void> {
  if (!request.isMultipart()) throw errors.unsupportedMediaType(request.headers['content-type'] ?? '(none)')
  const seenFields = new Set<string>()
  const fileCounts = new Map<string, number>()
  const iterator = request.parts({ limits: MULTIPART_LIMITS })[Symbol.asyncIterator]()
  for (;;) {
    let next: IteratorResult<Awaited<ReturnType<typeof iterator.next>>['value']>
    try {
      next = await iterator.next()
    } catch (error) {
      throw parserError(error)
    }
    if (next.done) return
    const part = next.value
    if (part.type === 'field') {
      const name = part.fieldname
      if (!reader.fields.has(name))
        throw errors.validation(`Unknown field ${name}`, [
          { field: name, message: 'is not a field of this request' },
        ])
      if (seenFields.has(name) && !reader.repeated?.has(name))
        throw errors.validation(`Field ${name} is given twice`, [
          { field: name, message: 'must be given once' },
        ])
      if (part.valueTruncated || part.fieldnameTruncated)
        throw errors.validation(`Field ${name} is too long`, [{ field: name, message: 'is too long' }])
      if (typeof part.value !== 'string')
        throw errors.validation(`Field ${name} must be text`, [{ field: name, message: 'must be text' }])
      const bad = nulBytePath(part.value) ?? loneSurrogatePath(part.value)
      if (bad !== null)
        throw errors.validation(`Field ${name} is not well-formed text`, [
          { field: name, message: 'must not contain a NUL byte or an unpaired surrogate' },
        ])
      seenFields.add(name)
      reader.onField(name, part.value)
      continue
    }
    const allowed = reader.files.get(part.fieldname)
    if (allowed === undefined)
      throw errors.validation(`Unknown file field ${part.fieldname}`, [
        { field: part.fieldname, message: 'is not a file field of this request' },
      ])
    const count = (fileCounts.get(part.fieldname) ?? 0) + 1
    if (count > allowed)
      throw errors.validation(`At most ${allowed} file(s) in ${part.fieldname}`, [
        { field: part.fieldname, message: `at most ${allowed}` },
      ])
    fileCounts.set(part.fieldname, count)
    try {
      await reader.onFile(part.fieldname, part)
    } catch (error) {
      // The part's stream failed under the consumer: the body broke off or was malformed.
      if (!(error instanceof ApiError) && part.file.errored) throw parserError(part.file.errored)
      throw error
    }
    // The parser's own cap (one byte over the largest kind) cut the file short.
    if (part.file.truncated) throw errors.payloadTooLarge(MULTIPART_LIMITS.fileSize - 1)
  }
}

/** Field names of a multipart form, as a set. */
export const names = (...list: string[]): ReadonlySet<string> => new Set(list)
