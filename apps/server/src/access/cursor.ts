import { errors } from '../errors.ts'

/**
 * Opaque keyset cursors: base64url of a JSON array of the last row's sort key. Each list checks the
 * decoded values with its own `accept`; anything else is a `validation_error` on `cursor`.
 */
export function encodeCursor(key: ReadonlyArray<number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')
}

export function decodeCursor<T>(cursor: string, accept: (values: unknown[]) => T | null): T {
  let parsed: unknown = null
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    // fall through to the coded error
  }
  const key = Array.isArray(parsed) ? accept(parsed) : null
  if (key === null) {
    throw errors.validation('cursor is not valid', [{ field: 'cursor', message: 'is not a valid cursor' }])
  }
  return key
}
