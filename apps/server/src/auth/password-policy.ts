import { errors } from '../errors.ts'

/**
 * NIST SP 800-63B §3.1.1.2 (2024): length decides (8 to 256 characters, checked by the schema), there
 * are no composition rules, and a password found in a list of common or breached passwords, or made
 * from the account's own identifiers, is refused. The list is the ~49,000 most common passwords from
 * public breach corpora shipped (offline) by `@zxcvbn-ts/language-common` (ADR 0009); it is loaded on
 * the first check, not at start-up.
 */
let blocklist: Promise<ReadonlySet<string>> | undefined
function commonPasswords(): Promise<ReadonlySet<string>> {
  blocklist ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common'].map((word) => word.toLowerCase())),
  )
  return blocklist
}

const refuse = (message: string) => errors.validation(`password ${message}`, [{ field: 'password', message }])

/** Throws `validation_error` (field `password`) for a password that is easy to guess. */
export async function checkPasswordStrength(
  password: string,
  context: { username?: string | null; phoneNumber?: string | null },
): Promise<void> {
  // Compared without case and white space: ' password123 ' or 'pass word 123' is the listed password
  // with a key or two more, and the first thing a guesser tries.
  const folded = password.normalize('NFKC').toLowerCase().replace(/\s+/gu, '')
  if ((await commonPasswords()).has(folded))
    throw refuse('is too common: it appears in lists of breached passwords')
  const identifiers = [context.username, context.phoneNumber, context.phoneNumber?.replace(/^\+/, '')]
  if (identifiers.some((identifier) => identifier && identifier.toLowerCase() === folded)) {
    throw refuse('must not be your username or phone number')
  }
  // '' was white space only: one character repeated too.
  if (/^(.)\1*$/su.test(folded) || folded === '') throw refuse('must not be one character repeated')
  // Short runs repeated ('abababab', '12341234') are as guessable as the run.
  if (/^(.{1,4})\1+$/su.test(folded)) throw refuse('must not be a few characters repeated')
}
