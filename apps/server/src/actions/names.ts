import { cleanText, showsNothing } from '@parley/protocol'
import { errors } from '../errors.ts'

/**
 * A name as the server stores it (NFC, trimmed), refused as `validation_error` on `field` when nothing
 * in it shows. The schemas' patterns already refuse most such names; this also catches the ones they
 * cannot see character by character, such as a name of invisible tag characters (U+E0041…) or a lone
 * combining mark.
 */
export function cleanName(text: string, field: string): string {
  const cleaned = cleanText(text)
  if (showsNothing(cleaned)) {
    throw errors.validation(`${field} must not be blank`, [
      { field, message: 'must contain a visible character' },
    ])
  }
  return cleaned
}
