import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { BenchResult } from './bench.ts'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const databaseUrl = process.env.PARLEY_TEST_DATABASE_URL ?? ''
const redisUrl = process.env.PARLEY_TEST_REDIS_URL ?? ''

/** Runs `npm run bench -- …args` as a user would; answers its exit code, its JSON line and its stderr. */
function bench(args: string[]): Promise<{ code: number; result: BenchResult | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'bench', '--', ...args],
      { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').at(-1) ?? ''
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          result: last.startsWith('{') ? (JSON.parse(last) as BenchResult) : null,
          stderr,
        })
      },
    )
  })
}

const SMALL = ['--start', '--users', '6', '--warmup', '0.5', '--duration', '1.5']

describe('npm run bench', { timeout: 150_000 }, () => {
  it('runs a direct scenario against a fresh local server and reports every figure', async () => {
    const { code, result, stderr } = await bench([...SMALL, '--rate', '20'])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'run') throw new Error(`not a run result: ${JSON.stringify(result)}`)
    expect(result).toMatchObject({ mode: 'sqlite', scenario: 'direct', users: 6, nodes: 1 })
    const run = result.result
    // 20/s for 1.5 s, open loop: the schedule decides how many were sent.
    expect(run.sent).toBe(30)
    expect(run.acked).toBe(30)
    expect(run.delivered).toBe(30)
    expect(run.delivered_ratio).toBe(1)
    expect(run.duplicates).toBe(0)
    expect(run.errors).toEqual({})
    expect(run.connections).toBe(6)
    expect(Object.keys(run.latency_ms)).toEqual(['count', 'avg', 'p50', 'p95', 'p99', 'p999', 'max'])
    expect(run.latency_ms.count).toBe(30)
    expect(run.achieved_send_rate).toBeGreaterThan(0)
    expect(run.server_rss_bytes_max).toBeGreaterThan(0)
    expect(stderr).toContain('end-to-end latency')
  })

  it('counts every recipient device in a group', async () => {
    const { code, result, stderr } = await bench([
      ...SMALL,
      '--scenario',
      'group',
      '--group-size',
      '3',
      '--rate',
      '10',
    ])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'run') throw new Error(`not a run result: ${JSON.stringify(result)}`)
    expect(result.result.sent).toBe(15)
    // Two groups of three: each message reaches the two other members.
    expect(result.result.expected_deliveries).toBe(30)
    expect(result.result.delivered).toBe(30)
  })

  it('prints the seed 004 verdict for the preset', async () => {
    const { code, result, stderr } = await bench([
      '--start',
      '--preset',
      'seed004',
      '--users',
      '20',
      '--warmup',
      '0',
      '--duration',
      '1',
    ])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'run') throw new Error(`not a run result: ${JSON.stringify(result)}`)
    expect(result.preset).toBe('seed004')
    expect(result.seed004?.checks.map((check) => check.name)).toEqual([
      'avg latency < 100 ms',
      'p95 latency < 300 ms',
      'p99 latency < 500 ms',
      'delivered ≥ 99.9 %',
    ])
    expect(stderr).toMatch(/seed004 targets: (PASS|FAIL)/)
  })

  it('sweeps the rate upwards step by step', async () => {
    const { code, result, stderr } = await bench([
      ...SMALL,
      '--sweep',
      '--rate',
      '10',
      '--step-factor',
      '2',
      '--max-rate',
      '20',
      '--duration',
      '1',
    ])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'sweep') throw new Error(`not a sweep result: ${JSON.stringify(result)}`)
    expect(result.steps[0]?.target_rate).toBe(10)
    expect(result.steps.length).toBeLessThanOrEqual(2)
    expect([null, ...result.steps.map((step) => step.target_rate)]).toContain(result.best_rate)
  })

  it('holds idle connections and reports the server memory per connection', async () => {
    const { code, result, stderr } = await bench([...SMALL, '--scenario', 'idle', '--duration', '1'])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'idle') throw new Error(`not an idle result: ${JSON.stringify(result)}`)
    expect(result.result.connections).toBe(6)
    expect(result.result.errors).toEqual({})
    expect(result.result.server_rss_bytes_after).toBeGreaterThan(0)
  })

  it('runs the media scenario: images through the SDK next to text, text latency with and without', async () => {
    const { code, result, stderr } = await bench([
      ...SMALL,
      '--scenario',
      'media',
      '--rate',
      '10',
      '--uploaders',
      '1',
      '--image-mp',
      '0.3',
      '--large-upload-mb',
      '8',
    ])
    expect(code, stderr).toBe(0)
    if (result?.kind !== 'media') throw new Error(`not a media result: ${JSON.stringify(result)}`)
    expect(result.text_only.sent).toBe(15)
    expect(result.text_only.delivered).toBe(15)
    expect(result.with_media.delivered).toBe(result.with_media.sent)
    expect(result.media.errors).toEqual({})
    expect(result.media.images_ready).toBeGreaterThan(0)
    expect(result.media.image_messages_sent).toBe(result.media.images_ready)
    expect(result.media.upload_to_ready_ms.count).toBe(result.media.images_ready)
    expect(result.media.large_upload).toMatchObject({ bytes: 8 * 1024 * 1024, state: 'ready' })
    expect(stderr).toContain('upload → ready ms')
  })

  it('refuses bad options with a readable message and exit code 2', async () => {
    const { code, stderr } = await bench(['--start', '--rate', 'fast'])
    expect(code).toBe(2)
    expect(stderr).toContain('--rate must be a number')
  })

  it.runIf(databaseUrl && redisUrl)(
    'runs a 2-node cluster on PostgreSQL + Redis (postgres+redis)',
    async () => {
      const { code, result, stderr } = await bench([
        ...SMALL,
        '--nodes',
        '2',
        '--database-url',
        databaseUrl,
        '--redis-url',
        redisUrl,
        '--rate',
        '20',
      ])
      expect(code, stderr).toBe(0)
      if (result?.kind !== 'run') throw new Error(`not a run result: ${JSON.stringify(result)}`)
      expect(result).toMatchObject({ mode: '2 nodes, postgres+redis', nodes: 2 })
      expect(result.result.delivered).toBe(30)
      expect(result.result.connections).toBe(6)
    },
  )
})
