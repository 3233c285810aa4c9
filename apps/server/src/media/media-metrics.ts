import { Counter, Gauge, Histogram, type Metric } from 'prom-client'

/**
 * Processing metrics. Made by the pipeline (built before the HTTP app) with no registry of their own;
 * the app's registry (http/plugins/metrics.ts) adopts them, so two apps in one process stay apart.
 */
export function createMediaMetrics() {
  const processingSeconds = new Histogram({
    name: 'parley_media_processing_seconds',
    help: 'Time from an upload entering processing to ready or rejected (scan included, queue wait excluded), by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  })
  const queueWaitSeconds = new Histogram({
    name: 'parley_media_queue_wait_seconds',
    help: 'Time an upload waited for a processing slot (PARLEY_MEDIA_PROCESSING_CONCURRENCY)',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
    registers: [],
  })
  const rejectsTotal = new Counter({
    name: 'parley_media_rejects_total',
    help: 'Uploads refused after their bytes arrived, by reason (type_mismatch, corrupt, infected, ...)',
    labelNames: ['reason'] as const,
    registers: [],
  })
  const queued = new Gauge({
    name: 'parley_media_processing_queued',
    help: 'Uploads waiting for a processing slot',
    registers: [],
  })
  const running = new Gauge({
    name: 'parley_media_processing_running',
    help: 'Uploads being processed now',
    registers: [],
  })
  const all: Metric[] = [processingSeconds, queueWaitSeconds, rejectsTotal, queued, running]
  return { processingSeconds, queueWaitSeconds, rejectsTotal, queued, running, all }
}
export type MediaMetrics = ReturnType<typeof createMediaMetrics>
