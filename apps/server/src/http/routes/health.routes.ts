import { Type } from '@sinclair/typebox'
import { sql } from 'kysely'
import type { Deps } from '../../deps.ts'
import { authorizeOps } from '../plugins/ops-access.ts'
import type { App } from '../types.ts'

const Check = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
})

async function timed(check: () => Promise<unknown>) {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out after 2 s')), 2000)
      }),
    ])
    return { status: 'ok' as const, latency_ms: Math.round((performance.now() - started) * 100) / 100 }
  } catch (error) {
    return {
      status: 'error' as const,
      latency_ms: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    }
  } finally {
    clearTimeout(timer)
  }
}

export function healthRoutes(app: App, deps: Deps) {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/health/detailed',
    {
      onRequest: authorizeOps(deps),
      schema: {
        tags: ['health'],
        summary: 'Readiness: database and bus round trips',
        description:
          'Needs `Authorization: Bearer <PARLEY_METRICS_TOKEN>` when that setting is set (401 otherwise); without it, answers clients on the server machine only (404 to others).',
        response: {
          '2xx': Type.Object({
            status: Type.String(),
            mode: Type.Object({ database: Type.String(), bus: Type.String() }),
            checks: Type.Object({ database: Check, bus: Check }),
          }),
          503: Type.Object({
            status: Type.String(),
            mode: Type.Object({ database: Type.String(), bus: Type.String() }),
            checks: Type.Object({ database: Check, bus: Check }),
          }),
        },
      },
    },
    async (_request, reply) => {
      const [database, bus] = await Promise.all([
        timed(() => sql`select 1`.execute(deps.store.db)),
        timed(() => deps.bus.ping()),
      ])
      const ok = database.status === 'ok' && bus.status === 'ok'
      return reply.status(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'degraded',
        mode: { database: deps.store.dialect, bus: deps.config.redisUrl ? 'redis' : 'memory' },
        checks: { database, bus },
      })
    },
  )
}
