import { fileURLToPath } from 'node:url'
import { asyncApiDocument } from '../gateway/asyncapi.ts'

/** Where the committed copy of the socket API description lives (`npm run asyncapi` writes it). */
export const ASYNCAPI_FILE = fileURLToPath(new URL('../../../../docs/api/asyncapi.json', import.meta.url))

/** The AsyncAPI document exactly as the server serves it at /asyncapi.json, as formatted JSON text. */
export function renderAsyncApi(): string {
  return `${JSON.stringify(asyncApiDocument(), null, 2)}\n`
}
