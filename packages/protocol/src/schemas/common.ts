import { type TSchema, Type } from '@sinclair/typebox'

/** Database ids are positive integers on the wire. */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const Timestamp = Type.String({ format: 'date-time' })
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

export const Visibility = Type.Union([
  Type.Literal('everyone'),
  Type.Literal('contacts'),
  Type.Literal('nobody'),
])

export const SuccessOnly = Type.Object({ success: Type.Literal(true), message: Type.Optional(Type.String()) })

export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse' },
)

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** Opaque cursor pagination for lists that can grow. */
export const CursorQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
})
export const CursorPage = Type.Object({ next_cursor: Nullable(Type.String()), has_more: Type.Boolean() })

/**
 * Seed 002's page numbers (`?page=&limit=`), beside the cursors. Pages are counted from 1; a page past
 * the end is empty. Asking for a page costs a count of the whole list (cursors do not).
 */
export const PageNumber = Type.Integer({ minimum: 1, maximum: 1_000_000 })
/** Added to `pagination` when the request named a `page` (seed 002 "Get All Chats"). */
export const PageNumbers = {
  current_page: Type.Optional(Type.Integer({ minimum: 1 })),
  total_pages: Type.Optional(Type.Integer({ minimum: 0 })),
  total_items: Type.Optional(Type.Integer({ minimum: 0 })),
}

/*
 * Names and short texts people show each other (display names, group names and descriptions, about,
 * contact names, device names). Refused anywhere: C0 and C1 control characters, bidirectional controls
 * (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) that make text read differently than it is stored,
 * line/paragraph separators, deprecated format characters and interlinear annotations. A name must also
 * hold at least one visible character (not only spaces, zero-width or filler characters). The patterns
 * use only escapes that mean the same with and without the regex `u` flag, and cannot backtrack.
 * The server also normalises these fields to NFC and trims them ({@link cleanText}).
 */
const ALWAYS_REFUSED = '\\u061C\\u200E\\u200F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u206F\\uFFF9-\\uFFFB'
const NAME_REFUSED = `\\x00-\\x1F\\x7F-\\x9F${ALWAYS_REFUSED}`
/** Free text may break lines (tab, LF, CR); every other control stays refused. */
const TEXT_REFUSED = `\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F${ALWAYS_REFUSED}`
/** Characters that show nothing on their own: spaces, zero-width characters, fillers, selectors. */
const INVISIBLE =
  ' \\u00A0\\u00AD\\u034F\\u115F\\u1160\\u1680\\u17B4\\u17B5\\u180B-\\u180F\\u2000-\\u200D\\u202F\\u205F\\u2060-\\u2064\\u3000\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0'

/** At least one visible character, and nothing refused. */
export const NAME_PATTERN = `^[${INVISIBLE}]*[^${NAME_REFUSED}${INVISIBLE}][^${NAME_REFUSED}]*$`
/** Nothing refused (may be empty, may break lines). */
export const TEXT_PATTERN = `^[^${TEXT_REFUSED}]*$`

/** A display name, group name, contact name or device name. */
export const DisplayName = (options: { maxLength: number }) =>
  Type.String({ minLength: 1, maxLength: options.maxLength, pattern: NAME_PATTERN })
/** An about text, group description or request message. */
export const PlainText = (options: { maxLength: number }) =>
  Type.String({ maxLength: options.maxLength, pattern: TEXT_PATTERN })

/**
 * Text made only of characters that show nothing, judged on whole code points (so also beyond the
 * patterns above, which must read the same without the `u` flag): white space, controls, format and
 * default-ignorable characters (zero-width, fillers, variation selectors, the invisible tag characters
 * U+E0000–U+E007F), combining marks with no base, noncharacters, and the Braille blank U+2800.
 */
const SHOWS_NOTHING =
  /^[\p{White_Space}\p{Cc}\p{Cf}\p{M}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\u2800]*$/u

/** True when `text` has no character a reader would see (see {@link SHOWS_NOTHING}); '' included. */
export function showsNothing(text: string): boolean {
  return SHOWS_NOTHING.test(text)
}

/** How the server stores every name and short text: Unicode NFC, without surrounding white space. */
export function cleanText(text: string): string {
  return text.normalize('NFC').trim()
}

/**
 * The path (`a.b.0`) of the first string or key that `refused` matches, or null (`(value)` for the value
 * itself). Walks with an explicit stack, not recursion: a body nested 100,000 deep must not overflow the
 * call stack. Each entry links to its parent, so a path is built only for the string that is found.
 */
function refusedStringPath(value: unknown, refused: (text: string) => boolean): string | null {
  type Entry = { value: unknown; key: string; parent: Entry | null }
  const pathOf = (entry: Entry | null): string => {
    const keys: string[] = []
    for (let at = entry; at !== null && at.parent !== null; at = at.parent) keys.push(at.key)
    return keys.reverse().join('.') || '(value)'
  }
  const pending: Entry[] = [{ value, key: '', parent: null }]
  for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
    const item = entry.value
    if (typeof item === 'string') {
      if (refused(item)) return pathOf(entry)
      continue
    }
    if (typeof item !== 'object' || item === null) continue
    const children = Object.entries(item)
    // Depth first, in key order: the first string found is the first one a reader meets.
    for (let index = children.length - 1; index >= 0; index -= 1) {
      const [key, child] = children[index] as [string, unknown]
      const at: Entry = { value: child, key: key.replaceAll('\u0000', '\\0'), parent: entry }
      if (refused(key)) return pathOf(at)
      pending.push(at)
    }
  }
  return null
}

/**
 * The path (`a.b.0`) of the first string or key holding a NUL byte, or null. No Parley text may hold
 * one: PostgreSQL cannot store it, and no person types it. Both transports refuse such input before it
 * is validated, so it never reaches a query. Walks with its own stack, not by recursion: a parsed body
 * may nest as deep as its bytes allow, and no depth may overflow the call stack (a 500, a 4007).
 */
export function nulBytePath(value: unknown): string | null {
  return refusedStringPath(value, (text) => text.includes('\u0000'))
}

/** Half of a UTF-16 surrogate pair standing alone (the `u` flag reads a whole pair as one code point). */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * The path of the first string or key that is not well-formed Unicode (an unpaired UTF-16 surrogate,
 * `"\ud800"` in JSON), or null. No encoding can store one: SQLite and PostgreSQL would keep U+FFFD
 * instead of what was sent, and names would dodge their checks. Both transports refuse such input
 * before it is validated.
 */
export function loneSurrogatePath(value: unknown): string | null {
  return refusedStringPath(value, (text) => LONE_SURROGATE.test(text))
}
