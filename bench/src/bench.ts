import { holdIdleConnections } from './idle.ts'
import { LoadDriver, type Phase, workload } from './load.ts'
import { describeMedia, largeVideo, type MediaRun, makeImages, startUploaders } from './media.ts'
import { type BenchOptions, rateAt } from './options.ts'
import { type BenchUser, closeAll, connectAll, createGroups, openPairs, seedUsers } from './population.ts'
import {
  context,
  describeIdle,
  describeStep,
  describeVerdict,
  type IdleResult,
  passesSweep,
  type RunContext,
  type StepResult,
  seed004Verdict,
} from './report.ts'
import { type ServerSample, sampleServers, startServers } from './servers.ts'
import { round, Samples } from './stats.ts'
import { describeStorm, runStorm, type StormResult } from './storm.ts'

/** Where progress lines and the human summary go (stderr from the CLI; the JSON line goes to stdout). */
export type Log = (line: string) => void

/** How long the bench waits, after the load stops, for outstanding replies and deliveries. */
const DRAIN_MS = 10_000
/** A mixed run sends this share of its messages in private chats, the rest in groups. */
const MIXED_DIRECT_SHARE = 0.7

export type BenchResult = RunContext &
  (
    | { kind: 'run'; result: StepResult; seed004?: ReturnType<typeof seed004Verdict> }
    | { kind: 'sweep'; best_rate: number | null; best: StepResult | null; steps: StepResult[] }
    | { kind: 'idle'; result: IdleResult }
    | { kind: 'storm'; result: StormResult }
    | ({ kind: 'media' } & MediaRun)
  )

/** Runs the bench described by `options` from start to end, and answers the JSON summary. */
export async function runBench(options: BenchOptions, log: Log): Promise<BenchResult> {
  const local = options.start ? await startServers(options) : null
  const urls = local?.urls ?? options.urls
  const adminToken = local?.adminToken ?? options.adminToken
  try {
    if (local) log(`started ${urls.length} server(s) (${local.mode}): ${urls.join(', ')}`)
    const mode = local?.mode ?? (urls.length > 1 ? `${urls.length} nodes` : 'external')
    const ctx = context(options, mode, urls.length)
    log(`seeding ${options.users} users through the admin API…`)
    const users = await seedUsers(urls, adminToken, options.users)
    if (options.scenario === 'storm') {
      const result = await runStorm(users, urls, options, log)
      log(`\nstorm: ${options.users} sockets\n${describeStorm(result)}`)
      return { ...ctx, kind: 'storm', result }
    }
    if (options.scenario === 'idle') {
      const result = await holdIdleConnections(users, urls, options, log)
      log(`\nidle: ${options.users} connections\n${describeIdle(result)}`)
      return { ...ctx, kind: 'idle', result }
    }
    const direct = options.scenario === 'group' ? [] : await openPairs(users)
    const groups =
      options.scenario === 'group' || options.scenario === 'mixed'
        ? await createGroups(users, options.groupSize)
        : []
    log(
      `opened ${direct.length} private chats and ${groups.length} groups; connecting ${users.length} devices…`,
    )
    const driver = new LoadDriver(
      workload(direct, groups, options.scenario === 'mixed' ? MIXED_DIRECT_SHARE : 1),
    )
    await connectAll(users, driver.hooks)
    log(`${users.length} devices connected`)
    try {
      if (options.scenario === 'media')
        return { ...ctx, ...(await driveMedia(options, urls, driver, direct, log)) }
      return await drive(options, ctx, urls, driver, users.length, log)
    } finally {
      closeAll(users)
    }
  } finally {
    await local?.stop()
  }
}

async function drive(
  options: BenchOptions,
  ctx: RunContext,
  urls: string[],
  driver: LoadDriver,
  userCount: number,
  log: Log,
): Promise<BenchResult> {
  const step = (rate: number, spikes: boolean) =>
    measureStep({ ...options, rate, spikeRate: spikes ? options.spikeRate : 0 }, urls, driver, userCount, log)
  if (!options.sweep) {
    const result = await step(options.rate, true)
    log(`\n${options.preset ?? options.scenario}: ${userCount} users\n${describeStep(result)}`)
    if (options.preset === 'seed004') {
      const verdict = seed004Verdict(result)
      log(describeVerdict(verdict))
      return { ...ctx, kind: 'run', result, seed004: verdict }
    }
    return { ...ctx, kind: 'run', result }
  }
  const steps: StepResult[] = []
  let best: StepResult | null = null
  let failed: StepResult | null = null
  for (let rate = options.rate; rate <= options.maxRate; rate = Math.round(rate * options.stepFactor)) {
    const result = await step(rate, false)
    steps.push(result)
    log(`step ${steps.length}: ${passesSweep(result) ? 'holds' : 'FAILS'}\n${describeStep(result)}`)
    if (!passesSweep(result)) {
      failed = result
      break
    }
    best = result
  }
  // Two halvings between the last rate that held and the first that did not.
  for (let i = 0; i < 2 && best && failed; i++) {
    const rate = Math.round((best.target_rate + failed.target_rate) / 2)
    if (rate === best.target_rate || rate === failed.target_rate) break
    const result = await step(rate, false)
    steps.push(result)
    log(`step ${steps.length}: ${passesSweep(result) ? 'holds' : 'FAILS'}\n${describeStep(result)}`)
    if (passesSweep(result)) best = result
    else failed = result
  }
  log(
    `\nsweep (${options.scenario}, ${userCount} users): highest rate holding delivered ≥ 99.9 % and p99 < 100 ms: ${best ? `${best.target_rate} msg/s` : 'none'}`,
  )
  return { ...ctx, kind: 'sweep', best_rate: best?.target_rate ?? null, best, steps }
}

/**
 * Media: a text-only window, then the same text rate with uploaders sending images (and one large
 * video) through the SDK: the text latency of both windows shows what media costs the other users.
 */
async function driveMedia(
  options: BenchOptions,
  urls: string[],
  driver: LoadDriver,
  direct: Array<{ id: number; members: BenchUser[] }>,
  log: Log,
): Promise<{ kind: 'media' } & MediaRun> {
  log(`generating 4 JPEGs of ${options.imageMegapixels} MP…`)
  const images = await makeImages(4, options.imageMegapixels)
  const step = () => measureStep({ ...options, spikeRate: 0 }, urls, driver, direct.length * 2, log)
  log('text only:')
  const textOnly = await step()
  const uploaders = direct.slice(0, options.uploaders).map((chat) => ({
    user: chat.members[0] as BenchUser,
    chatId: chat.id,
  }))
  // Made before the window, so building it does not stall the bench's own sending; uploaded by a
  // user who is not an image uploader.
  const large =
    options.largeUploadMb > 0
      ? { user: direct[0]?.members[1] as BenchUser, video: largeVideo(options.largeUploadMb) }
      : null
  log(
    `text with ${uploaders.length} uploaders${options.largeUploadMb ? ` and a ${options.largeUploadMb} MB video` : ''}:`,
  )
  const load = startUploaders(uploaders, images, large)
  let withMedia: StepResult
  try {
    withMedia = await step()
  } catch (error) {
    await load.stop()
    throw error
  }
  const media = await load.stop()
  const run: MediaRun = { text_only: textOnly, with_media: withMedia, media }
  log(`
media: ${options.users} users
${describeMedia(run)}`)
  return { kind: 'media', ...run }
}

/** A warm-up, then a measured window, then a drain; answers the measured window's figures. */
async function measureStep(
  options: BenchOptions,
  urls: string[],
  driver: LoadDriver,
  connections: number,
  log: Log,
): Promise<StepResult> {
  const rate = (t: number) => rateAt(options, t)
  const warm = driver.newPhase()
  if (options.warmup > 0) {
    log(`warming up at ${options.rate} msg/s for ${options.warmup} s…`)
    await driver.load(warm, options.warmup, rate)
  }
  const measured = driver.newPhase()
  const before = await sampleServers(urls)
  const cpuBefore = process.cpuUsage()
  let rssMax = before.rssBytes
  let lastSample: ServerSample = before
  driver.recent = new Samples()
  const started = performance.now()
  const progress = setInterval(() => {
    sampleServers(urls).then(
      (sample) => {
        rssMax = Math.max(rssMax, sample.rssBytes)
        const cpu = cpuPercent(lastSample, sample)
        lastSample = sample
        log(progressLine(measured, started, driver, sample, cpu))
      },
      () => log('  (metrics unavailable)'),
    )
  }, 1000)
  try {
    await driver.load(measured, options.duration, rate, options.warmup)
  } finally {
    clearInterval(progress)
  }
  const elapsed = (performance.now() - started) / 1000
  const after = await sampleServers(urls)
  const cpu = process.cpuUsage(cpuBefore)
  await driver.drain(measured, DRAIN_MS)
  await driver.drain(warm, 0)
  driver.endPhase(warm)
  driver.endPhase(measured)
  const unanswered = measured.sent - measured.acked - measured.failed
  if (unanswered > 0) measured.errors.set('no_reply', unanswered)
  const result: StepResult = {
    target_rate: options.rate,
    duration_s: round(elapsed),
    sent: measured.sent,
    acked: measured.acked,
    achieved_send_rate: round(measured.sent / elapsed),
    acked_rate: round(measured.acked / elapsed),
    expected_deliveries: measured.expected,
    delivered: measured.delivered,
    delivered_ratio: measured.expected === 0 ? 1 : round(measured.delivered / measured.expected, 5),
    deliveries_per_s: round(measured.delivered / elapsed),
    duplicates: measured.duplicates,
    latency_ms: measured.latency.summary(),
    ack_latency_ms: measured.ackLatency.summary(),
    server_cpu_percent: cpuPercent(before, after),
    server_rss_bytes_max: Math.max(rssMax, after.rssBytes),
    bench_cpu_percent: round(((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100, 1),
    connections: after.connections || connections,
    errors: Object.fromEntries(measured.errors),
    disconnects: Object.fromEntries(driver.disconnects),
  }
  driver.disconnects.clear()
  return result
}

function cpuPercent(from: ServerSample, to: ServerSample): number {
  const seconds = (to.at - from.at) / 1000
  return seconds <= 0 ? 0 : round(((to.cpuSeconds - from.cpuSeconds) / seconds) * 100, 1)
}

function progressLine(phase: Phase, started: number, driver: LoadDriver, sample: ServerSample, cpu: number) {
  const t = Math.round((performance.now() - started) / 1000)
  const recent = driver.recent.summary()
  driver.recent = new Samples()
  return (
    `  [${String(t).padStart(3)} s] sent ${phase.sent} · acked ${phase.acked} · delivered ${phase.delivered}/${phase.expected}` +
    ` · last second p50 ${recent.p50} p99 ${recent.p99} ms · server cpu ${cpu} % rss ${(sample.rssBytes / 2 ** 20).toFixed(0)} MB` +
    ` · ${sample.connections} conns`
  )
}
