import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'

/**
 * The one JSON validator of both transports: REST bodies (app.ts) and socket request frames
 * (gateway/requests.ts) are checked by Ajv with these options, so one schema means one verdict on
 * either transport — the same string length (Ajv counts code points, not UTF-16 units), the same
 * formats, the same pattern flags, the same defaults. `coerceTypes` only for query strings and path
 * parameters, which are text on the wire.
 */
export function createAjv(coerceTypes: boolean | 'array' = false): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false })
  addFormats.default(ajv)
  return ajv
}

/** Ajv's errors as the `details` of a validation_error: `{field: "a.b", message}` (the REST shape). */
export function validationDetails(
  issues: readonly ErrorObject[] | null | undefined,
): Array<{ field: string | null; message: string | undefined }> {
  return (issues ?? []).map((issue) => {
    // Ajv names a missing or unexpected property in params, relative to the object at instancePath.
    const property: unknown = issue.params?.missingProperty ?? issue.params?.additionalProperty
    const path = [
      ...issue.instancePath.split('/').filter(Boolean),
      ...(typeof property === 'string' ? [property] : []),
    ]
    return { field: path.length > 0 ? path.join('.') : null, message: issue.message }
  })
}
