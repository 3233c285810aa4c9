import { parseArgs } from 'node:util'

export type Scenario = 'direct' | 'group' | 'idle' | 'mixed' | 'storm' | 'media'
const SCENARIOS: readonly Scenario[] = ['direct', 'group', 'idle', 'mixed', 'storm', 'media']

export interface BenchOptions {
  /** Servers to load; users are spread over them round-robin (cluster mode when more than one). */
  urls: string[]
  /** Start fresh local server(s) for the run and stop them after. */
  start: boolean
  /** With `start`: how many nodes (more than one needs `databaseUrl` and `redisUrl`). */
  nodes: number
  /** With `start`: a PostgreSQL server; the bench creates a fresh database on it and drops it after. */
  databaseUrl: string
  /** With `start`: Redis for the bus, presence and limits. */
  redisUrl: string
  /** The server's PARLEY_ADMIN_TOKEN (generated with `start`); users are seeded through the admin API. */
  adminToken: string
  users: number
  scenario: Scenario
  /** Messages per second, open loop; the first step with `sweep`. */
  rate: number
  /** Seconds measured (per step with `sweep`). */
  duration: number
  /** Seconds of load before measuring (per step with `sweep`). */
  warmup: number
  groupSize: number
  sweep: boolean
  /** A sweep multiplies the rate by this after each step that held the targets. */
  stepFactor: number
  /** A sweep stops at this rate even if it still holds. */
  maxRate: number
  /** Seed 004 spikes: the rate doubles for `spikeSeconds` out of every `spikePeriod` seconds (0 = none). */
  spikeRate: number
  spikePeriod: number
  spikeSeconds: number
  preset: string | null
  /** media: users uploading images (closed loop) next to the text senders. */
  uploaders: number
  /** media: megapixels of the generated JPEGs. */
  imageMegapixels: number
  /** media: one video upload of this many MB during the media window (0 = none). */
  largeUploadMb: number
}

export const DEFAULTS: BenchOptions = {
  urls: [],
  start: false,
  nodes: 1,
  databaseUrl: '',
  redisUrl: '',
  adminToken: process.env.PARLEY_ADMIN_TOKEN ?? '',
  users: 100,
  scenario: 'direct',
  rate: 100,
  duration: 10,
  warmup: 2,
  groupSize: 10,
  sweep: false,
  stepFactor: 1.5,
  maxRate: 100_000,
  spikeRate: 0,
  spikePeriod: 15,
  spikeSeconds: 5,
  preset: null,
  uploaders: 4,
  imageMegapixels: 3,
  largeUploadMb: 100,
}

/** Named scenarios; options given on the command line override them. */
export const PRESETS: Record<string, Partial<BenchOptions>> = {
  /** Seed 004's performance test: 1,000 users, 50 msg/s sustained with 100 msg/s spikes, 60 s. */
  seed004: {
    users: 1000,
    scenario: 'mixed',
    groupSize: 10,
    rate: 50,
    spikeRate: 100,
    spikePeriod: 15,
    spikeSeconds: 5,
    duration: 60,
    warmup: 5,
  },
}

/** Seed 004's targets, printed as pass/fail after a `--preset seed004` run. */
export const SEED004_TARGETS = { avgMs: 100, p95Ms: 300, p99Ms: 500, deliveredRatio: 0.999 }
/** What a sweep step must hold (issue 5): delivered ≥ 99.9 % and p99 < 100 ms. */
export const SWEEP_TARGETS = { deliveredRatio: 0.999, p99Ms: 100 }

export const USAGE = `Usage: npm run bench -- [options]

  --url URL[,URL…]     server(s) to load (users are spread over them), or
  --start              start a fresh local server for the run (own data dir) and stop it after
  --nodes N            with --start: N nodes (needs --database-url and --redis-url when N > 1)
  --database-url URL   with --start: PostgreSQL server; a fresh database is created and dropped
  --redis-url URL      with --start: Redis for the bus, presence and limits
  --admin-token T      the server's PARLEY_ADMIN_TOKEN (default: $PARLEY_ADMIN_TOKEN; generated with --start)
  --users N            users, seeded through the admin API, every one connected (default ${DEFAULTS.users})
  --scenario S         direct | group | idle | mixed | storm | media (default ${DEFAULTS.scenario});
                       storm: all sockets connect at once, all drop, all reconnect at once with their
                       cursors while --rate messages are sent; --duration is the ready deadline
  --rate R             messages per second, open loop (default ${DEFAULTS.rate})
  --duration S         seconds measured (default ${DEFAULTS.duration})
  --warmup S           seconds of load before measuring (default ${DEFAULTS.warmup})
  --group-size G       members per group in group and mixed (default ${DEFAULTS.groupSize})
  --sweep              raise the rate by --step-factor until delivered < 99.9 % or p99 ≥ 100 ms
  --step-factor F      sweep rate multiplier (default ${DEFAULTS.stepFactor})
  --max-rate R         sweep ceiling (default ${DEFAULTS.maxRate})
  --preset NAME        ${Object.keys(PRESETS).join(', ')}
  --uploaders N        media: users uploading images while the others send text, 0 for none (default ${DEFAULTS.uploaders})
  --image-mp M         media: megapixels of the generated JPEGs (default ${DEFAULTS.imageMegapixels})
  --large-upload-mb M  media: one video upload of M MB (≤ 100) during the run, 0 for none (default ${DEFAULTS.largeUploadMb})
  --help`

/** Parses argv; throws an Error with a readable message on bad input. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' },
      start: { type: 'boolean' },
      nodes: { type: 'string' },
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'admin-token': { type: 'string' },
      users: { type: 'string' },
      scenario: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'group-size': { type: 'string' },
      sweep: { type: 'boolean' },
      'step-factor': { type: 'string' },
      'max-rate': { type: 'string' },
      preset: { type: 'string' },
      uploaders: { type: 'string' },
      'image-mp': { type: 'string' },
      'large-upload-mb': { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return 'help'
  const preset = values.preset ?? null
  if (preset !== null && !(preset in PRESETS)) {
    throw new Error(`--preset must be one of: ${Object.keys(PRESETS).join(', ')}`)
  }
  const base: BenchOptions = { ...DEFAULTS, ...(preset ? PRESETS[preset] : {}), preset }
  const number = (name: string, raw: string | undefined, fallback: number, min: number, integer: boolean) => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got "${raw}")`)
    }
    return value
  }
  const scenario = (values.scenario ?? base.scenario) as Scenario
  if (!SCENARIOS.includes(scenario)) throw new Error(`--scenario must be one of: ${SCENARIOS.join(', ')}`)
  const options: BenchOptions = {
    ...base,
    urls: values.url ? values.url.split(',').map((url) => url.trim().replace(/\/$/, '')) : [],
    start: values.start ?? false,
    nodes: number('nodes', values.nodes, base.nodes, 1, true),
    databaseUrl: values['database-url'] ?? base.databaseUrl,
    redisUrl: values['redis-url'] ?? base.redisUrl,
    adminToken: values['admin-token'] ?? base.adminToken,
    users: number('users', values.users, base.users, 2, true),
    scenario,
    rate: number('rate', values.rate, base.rate, 0.1, false),
    duration: number('duration', values.duration, base.duration, 1, false),
    warmup: number('warmup', values.warmup, base.warmup, 0, false),
    groupSize: number('group-size', values['group-size'], base.groupSize, 2, true),
    sweep: values.sweep ?? false,
    stepFactor: number('step-factor', values['step-factor'], base.stepFactor, 1.01, false),
    maxRate: number('max-rate', values['max-rate'], base.maxRate, 1, false),
    uploaders: number('uploaders', values.uploaders, base.uploaders, 0, true),
    imageMegapixels: number('image-mp', values['image-mp'], base.imageMegapixels, 0.01, false),
    largeUploadMb: number('large-upload-mb', values['large-upload-mb'], base.largeUploadMb, 0, true),
  }
  if (options.start === options.urls.length > 0) throw new Error('give either --url or --start')
  if (!options.start && !options.adminToken) {
    throw new Error(
      '--url needs --admin-token (or $PARLEY_ADMIN_TOKEN): users are seeded through the admin API',
    )
  }
  if (options.nodes > 1 && !(options.start && options.databaseUrl && options.redisUrl)) {
    throw new Error('--nodes > 1 needs --start, --database-url and --redis-url')
  }
  if ((options.scenario === 'group' || options.scenario === 'mixed') && options.groupSize > options.users) {
    throw new Error(`--group-size (${options.groupSize}) cannot exceed --users (${options.users})`)
  }
  if (options.sweep && (options.scenario === 'idle' || options.scenario === 'storm'))
    throw new Error('--sweep needs a messaging scenario')
  if (options.scenario === 'media') {
    if (options.sweep) throw new Error('--sweep does not apply to --scenario media')
    if (options.uploaders === 0 && options.largeUploadMb === 0)
      throw new Error('--scenario media needs --uploaders or --large-upload-mb above 0')
    if (options.largeUploadMb > 100)
      throw new Error('--large-upload-mb must be at most 100 (the video limit)')
    if (options.uploaders > Math.floor(options.users / 2))
      throw new Error(`--uploaders (${options.uploaders}) cannot exceed half of --users (${options.users})`)
  }
  return options
}

/**
 * The target send rate at `t` seconds into a run: `rate`, raised to `spikeRate` during the last
 * `spikeSeconds` of every `spikePeriod`.
 */
export function rateAt(
  options: Pick<BenchOptions, 'rate' | 'spikeRate' | 'spikePeriod' | 'spikeSeconds'>,
  t: number,
) {
  if (options.spikeRate <= 0 || options.spikePeriod <= 0) return options.rate
  const inPeriod = t % options.spikePeriod
  return inPeriod >= options.spikePeriod - options.spikeSeconds ? options.spikeRate : options.rate
}
