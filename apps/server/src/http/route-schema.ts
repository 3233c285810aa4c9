import { ErrorResponse } from '@parley/protocol'
import type { Ajv, ErrorObject } from 'ajv'

/** OpenAPI security requirement of routes that need an access token. */
export const secured = [{ bearerAuth: [] }]

/** OpenAPI security requirement of the admin API: PARLEY_ADMIN_TOKEN as a bearer token. */
export const adminSecured = [{ adminToken: [] }]

/** The coded error body, documented for each status a route can answer with. */
export const errorsOf = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, ErrorResponse]))

/**
 * An integer in a path or query string, as written: plain decimal digits, an optional minus, no leading
 * zero, at most 16 digits (every safe integer fits). Ajv's coercion alone would take whatever `Number()`
 * takes: `0x10`, `1e1`, ` 16`, `16.0`, `+16`, `016` would all name 16 (or 10).
 */
const DECIMAL_INTEGER = /^(?:0|-?[1-9][0-9]{0,15})$/

type JsonSchema = { type?: unknown; anyOf?: unknown; properties?: Record<string, JsonSchema> }

const takesInteger = (schema: JsonSchema | undefined): boolean =>
  schema?.type === 'integer' ||
  (Array.isArray(schema?.anyOf) && (schema.anyOf as JsonSchema[]).some((member) => takesInteger(member)))

/** A validator of a part of the URL: the strict integer check first, then the schema (with coercion). */
type UrlValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/**
 * Compiles the schema of a path or query string with `ajv` (which coerces text to the schema's types)
 * and refuses, before coercion, an integer field that is not written as a plain decimal integer
 * (`DECIMAL_INTEGER`, and a safe integer): `/api/messages/0x10` is a `validation_error`, like
 * `/api/messages/abc`, never message 16. One place for every route's ids, limits and cursors.
 */
export function compileUrlValidator(ajv: Ajv, schema: object): UrlValidator {
  const validate = ajv.compile(schema)
  const integerFields = Object.entries((schema as JsonSchema).properties ?? {})
    .filter(([, property]) => takesInteger(property))
    .map(([name]) => name)
  const check: UrlValidator = (data) => {
    if (integerFields.length > 0 && data !== null && typeof data === 'object') {
      const fields = data as Record<string, unknown>
      for (const name of integerFields) {
        const values = Array.isArray(fields[name]) ? (fields[name] as unknown[]) : [fields[name]]
        for (const value of values) {
          if (typeof value !== 'string') continue
          if (DECIMAL_INTEGER.test(value) && Number.isSafeInteger(Number(value))) continue
          check.errors = [
            {
              instancePath: `/${name}`,
              schemaPath: `#/properties/${name}/type`,
              keyword: 'type',
              params: { type: 'integer' },
              message: 'must be a decimal integer',
            },
          ]
          return false
        }
      }
    }
    const valid = validate(data)
    check.errors = validate.errors ?? null
    return valid
  }
  return check
}
