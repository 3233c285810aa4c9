import { ERROR_CODES } from '@parley/protocol'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Property-based fuzzing of every REST route, driven by the OpenAPI document the running server
 * serves. Requests are built from each route's schemas, both as valid-looking values and mutated
 * (wrong types, missing and extra fields, prototype keys, huge numbers and arrays, long strings, odd
 * Unicode, deep nesting, ids such as `0x10`), sent by a signed-in user with rate limits lifted. Every
 * answer must be a documented success or a coded error below 500 (503 only where the route documents
 * it), and the server must keep answering.
 *
 * Budget: PARLEY_FUZZ_RUNS requests per route (default 12, ~20-30 s per mode); `PARLEY_FUZZ_RUNS=500`
 * for a long run. PARLEY_FUZZ_SEED replays a run.
 */

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 12)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined
/** Per route, including shrinking a failure: a bound, not a speed assertion. */
const ROUTE_TIME_LIMIT_MS = Number(process.env.PARLEY_FUZZ_ROUTE_MS ?? 15_000)

interface Schema {
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  nullable?: boolean
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  pattern?: string
  format?: string
  default?: unknown
}
interface Parameter {
  in: 'path' | 'query' | 'header'
  name: string
  required?: boolean
  schema: Schema
}
interface Operation {
  parameters?: Parameter[]
  requestBody?: { content: Record<string, { schema: Schema }> }
  responses: Record<string, unknown>
}
interface Route {
  method: string
  path: string
  operation: Operation
}
interface FuzzRequest {
  path: string
  query: string
  body: string | undefined
}

// ---- values ----

const ODD_STRINGS = [
  '',
  ' ',
  '0x10',
  '1e3',
  '-1',
  '0',
  '1.5',
  '9'.repeat(40),
  'NaN',
  'null',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00y',
  '\u202Eevil',
  'e\u0301',
  '\u200B',
  '🙂'.repeat(300),
  '<script>alert(1)</script>',
  "'; DROP TABLE users; --",
  '../../etc/passwd',
  '%00',
  '__proto__',
  'constructor',
  'toString',
]
const ODD_NUMBERS = [-1, 0, 1.5, -0.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, Number.MIN_VALUE]

const nested = (depth: number): unknown => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value }
  return value
}

/** A value of no particular schema: the mutations. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...ODD_STRINGS, ...ODD_NUMBERS, null, true, false, {}, []),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 100, max: 10_000 }).map((n) => Array.from({ length: n }, (_, i) => i + 1)),
  fc.integer({ min: 100, max: 3_000 }).map((n) => Array.from({ length: n }, () => 'x')),
  fc.integer({ min: 20, max: 2_000 }).map(nested),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), {
    maxKeys: 4,
  }),
)

/** Values that follow the schema, more or less (patterns and formats are only hinted at). */
function valid(schema: Schema, ids: number[], depth = 0): fc.Arbitrary<unknown> {
  const base = validBase(schema, ids, depth)
  return schema.nullable ? fc.oneof(base, fc.constant(null)) : base
}

function validBase(schema: Schema, ids: number[], depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf ?? schema.allOf
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => valid(alternative, ids, depth + 1)))
  switch (schema.type) {
    case 'integer': {
      const min = schema.minimum ?? -(2 ** 31)
      const max = Math.min(schema.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER)
      const inRange = ids.filter((id) => id >= min && id <= max)
      return fc.oneof(
        fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max }),
        ...(inRange.length > 0 ? [fc.constantFrom(...inRange)] : []),
      )
    }
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      })
    case 'boolean':
      return fc.boolean()
    case 'string': {
      const minLength = schema.minLength ?? 0
      const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 32, 64))
      const samples =
        schema.format === 'uuid' || /uuid/i.test(schema.pattern ?? '')
          ? [fc.uuid()]
          : /^\^\\?\+/.test(schema.pattern ?? '')
            ? [fc.constantFrom('+14155550123', '+447911123456', '+10000000000')]
            : []
      return fc.oneof(
        ...samples,
        fc.string({ minLength, maxLength }),
        fc.stringMatching(/^[a-z0-9_]{3,20}$/).filter((s) => s.length >= minLength && s.length <= maxLength),
      )
    }
    case 'array': {
      const items = schema.items ?? {}
      return fc.array(valid(items, ids, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 5, 5)),
      })
    }
    case 'object': {
      if (depth > 6 || !schema.properties) return fc.constant({})
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, property] of Object.entries(schema.properties))
        model[key] = field(property, ids, depth)
      return fc.record(model, { requiredKeys: schema.required ?? [] })
    }
    default:
      return weird
  }
}

/** A property value: mostly valid, sometimes any of the mutations. */
function field(schema: Schema, ids: number[], depth: number): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: valid(schema, ids, depth + 1) }, { weight: 1, arbitrary: weird })
}

/** Whole-body mutations on top of the field-level ones. */
function mutatedBody(schema: Schema, ids: number[]): fc.Arbitrary<string> {
  const object = valid(schema, ids)
  return fc.oneof(
    { weight: 6, arbitrary: object.map((value) => JSON.stringify(value)) },
    // A required field missing.
    {
      weight: 1,
      arbitrary: fc.tuple(object, fc.nat()).map(([value, n]) => {
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          const keys = Object.keys(value)
          const copy: Record<string, unknown> = { ...value }
          if (keys.length > 0) delete copy[keys[n % keys.length] ?? '']
          return JSON.stringify(copy)
        }
        return JSON.stringify(value)
      }),
    },
    // An unexpected field, or a prototype key spliced into the JSON text.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          object,
          fc.constantFrom(
            '"is_admin":true',
            '"__proto__":{"is_admin":true}',
            '"constructor":{"prototype":{"is_admin":true}}',
            '"toString":1',
            '"hasOwnProperty":"x"',
          ),
        )
        .map(([value, extra]) => {
          const text = JSON.stringify(value)
          return text.startsWith('{') ? `{${extra}${text === '{}' ? '' : ','}${text.slice(1)}` : text
        }),
    },
    // Not the schema's type at all.
    { weight: 1, arbitrary: weird.map((value) => JSON.stringify(value) ?? 'null') },
  )
}

/** A path parameter: the schema's values, ids that exist, and ids spelled oddly. */
function pathValue(schema: Schema, ids: number[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: valid(schema, ids).map(String) },
      { weight: 2, arbitrary: fc.constantFrom(...ids.map(String)) },
      { weight: 2, arbitrary: fc.constantFrom(...ODD_STRINGS) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    )
    .map((value) => {
      try {
        return encodeURIComponent(value)
      } catch {
        // A lone surrogate cannot be encoded as UTF-8: send the bytes it would have been.
        return '%ED%A0%80'
      }
    })
}

function queryValue(parameter: Parameter, ids: number[]): fc.Arbitrary<unknown> {
  // The long-poll wait of /api/sync uses real time: the fuzz would only wait. Invalid values stay.
  if (parameter.name === 'timeout') return fc.constantFrom<unknown>(0, -1, 61, 'x', '0x10')
  return field(parameter.schema, ids, 0)
}

function requestFor(route: Route, ids: number[]): fc.Arbitrary<FuzzRequest> {
  const parameters = route.operation.parameters ?? []
  const pathParameters = parameters.filter((parameter) => parameter.in === 'path')
  const queryParameters = parameters.filter((parameter) => parameter.in === 'query')
  const pathArb = fc
    .tuple(...pathParameters.map((parameter) => pathValue(parameter.schema, ids)))
    .map((values) =>
      pathParameters.reduce(
        (path, parameter, i) => path.replace(`{${parameter.name}}`, values[i] ?? ''),
        route.path,
      ),
    )
  const queryModel: Record<string, fc.Arbitrary<unknown>> = {}
  for (const parameter of queryParameters) queryModel[parameter.name] = queryValue(parameter, ids)
  const queryArb = fc
    .record(queryModel, {
      requiredKeys: queryParameters
        .filter((parameter) => parameter.required)
        .map((parameter) => parameter.name),
    })
    .map((values) => {
      const search = new URLSearchParams()
      for (const [name, value] of Object.entries(values)) {
        for (const item of Array.isArray(value) ? value.slice(0, 50) : [value]) {
          search.append(name, typeof item === 'object' ? JSON.stringify(item) : String(item))
        }
      }
      return search.toString()
    })
  const schema = route.operation.requestBody?.content['application/json']?.schema
  const bodyArb = schema ? mutatedBody(schema, ids) : fc.constant(undefined)
  return fc.record({ path: pathArb, query: queryArb, body: bodyArb })
}

// ---- answers ----

const KNOWN_CODES = new Set<string>(ERROR_CODES)

/** What is wrong with an answer, or null when it is a documented success or a coded error. */
function problem(route: Route, status: number, text: string): string | null {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return 'the answer is not JSON'
  }
  const documented = (code: number) =>
    String(code) in route.operation.responses || `${String(code)[0]}XX` in route.operation.responses
  if (status >= 400) {
    const error = (body as { success?: unknown; error?: { code?: unknown; message?: unknown } }) ?? {}
    if (error.success !== false || typeof error.error?.message !== 'string')
      return 'not the documented error shape'
    if (typeof error.error.code !== 'string' || !KNOWN_CODES.has(error.error.code))
      return 'an unknown error code'
    if (status >= 500 && !(status === 503 && documented(503))) return `a ${status} (${error.error.code})`
    return null
  }
  return documented(status) ? null : `an undocumented ${status}`
}

/** Public routes are sent as an anonymous caller: the fuzzing user must stay signed in. */
const ANONYMOUS = /^\/api\/auth\/(send-otp|verify-otp|register|login|refresh|logout)$/

describe.each(MODES)('REST fuzzing (%s)', (mode) => {
  let server: TestServer
  let user: TestUser
  let routes: Route[] = []
  let ids: number[] = []

  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    user = await createUser(server)
    const other = await createUser(server)
    const client = user.client
    const { body: chat } = await client.raw('POST', '/api/chats', {
      body: { type: 'private', user_id: other.id },
    })
    const chatId = (chat as { chat: { id: number } }).chat.id
    const { body: sent } = await client.raw('POST', `/api/chats/${chatId}/messages`, {
      body: { message_type: 'text', content: 'hello', client_msg_id: 'fuzz-1' },
    })
    const messageId = (sent as { message: { id: number } }).message.id
    const { body: group } = await client.raw('POST', '/api/groups', {
      body: { name: 'fuzz', participants: [other.id] },
    })
    const groupId = (group as { group?: { id: number }; chat?: { id: number } }).group?.id ?? 0
    ids = [...new Set([user.id, other.id, chatId, messageId, groupId, 1, 2, 3].filter((id) => id > 0))]

    const { body: document } = await server.client().raw('GET', '/openapi.json')
    const paths = (document as { paths: Record<string, Record<string, Operation>> }).paths
    routes = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
    )
  })
  afterAll(async () => {
    await server?.close()
  })

  it(
    'answers every generated request to every route with a documented success or a coded error, never a 500',
    async () => {
      expect(routes.length).toBeGreaterThan(40)
      const failures: string[] = []
      for (const route of routes) {
        const run = await fc.check(
          fc.asyncProperty(requestFor(route, ids), async (request) => {
            const url = `${server.url}${request.path}${request.query ? `?${request.query}` : ''}`
            const headers: Record<string, string> = {}
            if (!ANONYMOUS.test(route.path)) headers.authorization = `Bearer ${user.auth.tokens.access_token}`
            if (request.body !== undefined) headers['content-type'] = 'application/json'
            const response = await fetch(url, { method: route.method, headers, body: request.body })
            const text = await response.text()
            const wrong = problem(route, response.status, text)
            if (wrong) throw new Error(`${wrong}: ${response.status} ${text.slice(0, 300)}`)
          }),
          { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: ROUTE_TIME_LIMIT_MS },
        )
        if (run.failed) {
          const example = run.counterexample?.[0]
          const body =
            example?.body && example.body.length > 300
              ? `${example.body.slice(0, 300)}… (${example.body.length} chars)`
              : example?.body
          failures.push(
            `${route.method} ${route.path} (seed ${run.seed}): ${example?.path}${example?.query ? `?${example.query}` : ''} ${body ?? ''}\n    → ${run.errorInstance instanceof Error ? run.errorInstance.message : String(run.errorInstance)}`,
          )
        }
      }
      // Still up, and the fuzzing user still signed in.
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
      expect(failures, failures.join('\n')).toEqual([])
    },
    60 * ROUTE_TIME_LIMIT_MS,
  )
})
