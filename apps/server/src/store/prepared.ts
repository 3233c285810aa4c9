import { type Compilable, CompiledQuery, type QueryResult } from 'kysely'
import type { Executor } from './db.ts'

/** Stands in for argument `i` while the query is built once; never reaches the database. */
const slot = (i: number) => `\u2063parley-arg:${i}\u2063`
const SLOT = /^\u2063parley-arg:(\d+)\u2063$/

interface Template {
  sql: string
  /** Per bound parameter: the index of the argument it takes, or a constant of the query itself. */
  parameters: Array<{ arg: number } | { value: unknown }>
}

/**
 * A hot query built and compiled by Kysely once per dialect, then run with new arguments. Building and
 * compiling a query cost about as much as SQLite running it (profiled under `npm run bench`: ~25 µs
 * each), and a message takes a few dozen queries. The query keeps Kysely's types and SQL; only the
 * work of producing the SQL text is saved.
 *
 * `build` is called with stand-ins for the arguments: each argument must be used as a whole bound value
 * (`where('id', '=', id)`, `values({ id })`), never inside an expression that changes the SQL's shape
 * (a condition that adds a clause). Building throws if an argument went unused. The number of
 * arguments may vary (rest parameters: rows of a multi-row insert, a list for `in`): each count gets
 * its own template.
 *
 * @example
 * ```ts
 * const findChat = prepared((db, id: number) => db.selectFrom('chats').selectAll().where('id', '=', id))
 * const { rows: [chat] } = await findChat(trx, 7)
 * ```
 */
export function prepared<A extends unknown[], R>(
  build: (db: Executor, ...args: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<QueryResult<R>> {
  // One template per dialect (keyed by its adapter's class: PostgreSQL and SQLite differ in SQL text)
  // and number of arguments.
  const templates = new Map<unknown, Map<number, Template>>()
  return async (db, ...args) => {
    const dialect = db.getExecutor().adapter.constructor
    let byArity = templates.get(dialect)
    if (!byArity) {
      byArity = new Map()
      templates.set(dialect, byArity)
    }
    let template = byArity.get(args.length)
    if (!template) {
      template = compileTemplate(db, build, args.length)
      byArity.set(args.length, template)
    }
    const parameters = template.parameters.map((parameter) =>
      'arg' in parameter ? args[parameter.arg] : parameter.value,
    )
    return db.executeQuery<R>(CompiledQuery.raw(template.sql, parameters))
  }
}

function compileTemplate<A extends unknown[], R>(
  db: Executor,
  build: (db: Executor, ...args: A) => Compilable<R>,
  arity: number,
): Template {
  const stand_ins = Array.from({ length: arity }, (_, i) => slot(i)) as unknown as A
  const compiled = build(db, ...stand_ins).compile()
  const parameters = compiled.parameters.map((value) => {
    const match = typeof value === 'string' ? SLOT.exec(value) : null
    return match ? { arg: Number(match[1]) } : { value }
  })
  const used = new Set(parameters.flatMap((parameter) => ('arg' in parameter ? [parameter.arg] : [])))
  if (used.size !== arity) throw new Error(`prepared query uses ${used.size} of its ${arity} arguments`)
  return { sql: compiled.sql, parameters }
}
