import os from 'node:os'
import { type BenchOptions, SEED004_TARGETS, SWEEP_TARGETS } from './options.ts'
import type { LatencySummary } from './stats.ts'

/** One measured window of a messaging scenario (the JSON line's main body). */
export interface StepResult {
  target_rate: number
  duration_s: number
  sent: number
  acked: number
  achieved_send_rate: number
  acked_rate: number
  expected_deliveries: number
  delivered: number
  delivered_ratio: number
  deliveries_per_s: number
  duplicates: number
  /** Scheduled send → arrival at each recipient device. */
  latency_ms: LatencySummary
  /** Scheduled send → the server's reply to the sender. */
  ack_latency_ms: LatencySummary
  server_cpu_percent: number
  server_rss_bytes_max: number
  bench_cpu_percent: number
  connections: number
  errors: Record<string, number>
  disconnects: Record<string, number>
}

/** Idle: `*_before` is sampled with half of the devices connected, `*_after` with all of them. */
export interface IdleResult {
  connections: number
  connect_seconds: number
  server_rss_bytes_before: number
  server_rss_bytes_after: number
  server_heap_used_bytes_before: number
  server_heap_used_bytes_after: number
  rss_per_connection_bytes: number
  heap_per_connection_bytes: number
  server_cpu_percent_idle: number
  errors: Record<string, number>
}

export interface RunContext {
  date: string
  machine: string
  node: string
  mode: string
  nodes: number
  scenario: string
  preset: string | null
  users: number
  group_size: number | null
}

export function context(options: BenchOptions, mode: string, nodes: number): RunContext {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    mode,
    nodes,
    scenario: options.scenario,
    preset: options.preset,
    users: options.users,
    group_size: options.scenario === 'group' || options.scenario === 'mixed' ? options.groupSize : null,
  }
}

export const passesSweep = (step: StepResult) =>
  step.delivered_ratio >= SWEEP_TARGETS.deliveredRatio && step.latency_ms.p99 < SWEEP_TARGETS.p99Ms

export function seed004Verdict(step: StepResult) {
  const checks = [
    {
      name: `avg latency < ${SEED004_TARGETS.avgMs} ms`,
      value: step.latency_ms.avg,
      ok: step.latency_ms.avg < SEED004_TARGETS.avgMs,
    },
    {
      name: `p95 latency < ${SEED004_TARGETS.p95Ms} ms`,
      value: step.latency_ms.p95,
      ok: step.latency_ms.p95 < SEED004_TARGETS.p95Ms,
    },
    {
      name: `p99 latency < ${SEED004_TARGETS.p99Ms} ms`,
      value: step.latency_ms.p99,
      ok: step.latency_ms.p99 < SEED004_TARGETS.p99Ms,
    },
    {
      name: `delivered ≥ ${SEED004_TARGETS.deliveredRatio * 100} %`,
      value: step.delivered_ratio,
      ok: step.delivered_ratio >= SEED004_TARGETS.deliveredRatio,
    },
  ]
  return { pass: checks.every((check) => check.ok), checks }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`
const pct = (ratio: number) => `${(ratio * 100).toFixed(3)} %`
const ms = (summary: LatencySummary) =>
  `avg ${summary.avg} · p50 ${summary.p50} · p95 ${summary.p95} · p99 ${summary.p99} · p99.9 ${summary.p999} · max ${summary.max} ms`
const codes = (map: Record<string, number>) =>
  Object.keys(map).length === 0
    ? 'none'
    : Object.entries(map)
        .map(([code, n]) => `${code} × ${n}`)
        .join(', ')

export function describeStep(step: StepResult): string {
  return [
    `  target ${step.target_rate} msg/s for ${step.duration_s} s: sent ${step.sent} (${step.achieved_send_rate}/s), acked ${step.acked} (${step.acked_rate}/s)`,
    `  delivered ${step.delivered} of ${step.expected_deliveries} (${pct(step.delivered_ratio)}), ${step.deliveries_per_s} deliveries/s, duplicates ${step.duplicates}`,
    `  end-to-end latency: ${ms(step.latency_ms)}`,
    `  ack latency:        ${ms(step.ack_latency_ms)}`,
    `  server: cpu ${step.server_cpu_percent} %, rss max ${mb(step.server_rss_bytes_max)}, ${step.connections} connections · bench cpu ${step.bench_cpu_percent} %`,
    `  errors: ${codes(step.errors)} · disconnects: ${codes(step.disconnects)}`,
  ].join('\n')
}

export function describeIdle(result: IdleResult): string {
  return [
    `  ${result.connections} connections held (connected in ${result.connect_seconds} s)`,
    `  server rss with half of them ${mb(result.server_rss_bytes_before)}, with all ${mb(result.server_rss_bytes_after)}: ${result.rss_per_connection_bytes} bytes per connection`,
    `  server heap with half ${mb(result.server_heap_used_bytes_before)}, with all ${mb(result.server_heap_used_bytes_after)}: ${result.heap_per_connection_bytes} bytes per connection`,
    `  server cpu while idle ${result.server_cpu_percent_idle} % · errors: ${codes(result.errors)}`,
  ].join('\n')
}

export function describeVerdict(verdict: ReturnType<typeof seed004Verdict>): string {
  const lines = verdict.checks.map(
    (check) => `  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name} (${check.value})`,
  )
  return [`seed004 targets: ${verdict.pass ? 'PASS' : 'FAIL'}`, ...lines].join('\n')
}
