import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Deps } from '../../deps.ts'
import { AttachmentRepository } from '../../store/attachment.repository.ts'
import type { App } from '../types.ts'
import { authorizeOps } from './ops-access.ts'

/** One registry per app (not prom-client's global one) so a test can run two apps in one process. */
export function createMetrics(deps: Pick<Deps, 'store' | 'clock' | 'media'>) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'parley_' })
  for (const metric of deps.media.metrics.all) registry.registerMetric(metric)
  const requestDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  const errorsTotal = new Counter({
    name: 'parley_http_errors_total',
    help: 'Error answers by code',
    labelNames: ['code'] as const,
    registers: [registry],
  })
  new Gauge({
    name: 'parley_active_sessions',
    help: 'Signed-in sessions (devices) that are neither revoked nor expired',
    registers: [registry],
    async collect() {
      const row = await deps.store.db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', deps.clock.now())
        .executeTakeFirstOrThrow()
      this.set(Number(row.count))
    },
  })
  new Gauge({
    name: 'parley_media_bytes_stored',
    help: 'Bytes of ready media attachments (originals as stored)',
    registers: [registry],
    async collect() {
      this.set(await new AttachmentRepository(deps.store.db).storedBytes())
    },
  })
  const uploadsTotal = new Counter({
    name: 'parley_media_uploads_total',
    help: 'Direct uploads by outcome: signed, refused (before any byte), ready, rejected (after processing)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const mediaRefusalsTotal = new Counter({
    name: 'parley_media_refusals_total',
    help: 'Upload requests the API refused or rejected, by reason (a reject reason, or the error code of a refusal such as payload_too_large or quota_exceeded)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  return { registry, requestDuration, errorsTotal, uploadsTotal, mediaRefusalsTotal }
}
export type Metrics = ReturnType<typeof createMetrics>

export function registerMetrics(app: App, deps: Pick<Deps, 'config'>, metrics: Metrics) {
  app.addHook('onResponse', async (request, reply) => {
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
  })
  app.get('/metrics', { schema: { hide: true }, onRequest: authorizeOps(deps) }, async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
}
