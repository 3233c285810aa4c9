import { ErrorResponse } from '@parley/protocol'

/** OpenAPI security requirement of routes that need an access token. */
export const secured = [{ bearerAuth: [] }]

/** OpenAPI security requirement of the admin API: PARLEY_ADMIN_TOKEN as a bearer token. */
export const adminSecured = [{ adminToken: [] }]

/** The coded error body, documented for each status a route can answer with. */
export const errorsOf = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, ErrorResponse]))
