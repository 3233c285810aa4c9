import type { Deps } from '../deps.ts'
import { withJobLock } from '../store/job-lock.repository.ts'
import { mediaHousekeeping } from './media-housekeeping.ts'
import { purgeExpiredUpdates } from './retention.ts'

export interface Job {
  name: string
  /** Time between runs; the first run is one interval after start. */
  everyMs: number
  run(deps: Deps): Promise<unknown>
}

/** The server's background jobs. */
export const JOBS: readonly Job[] = [
  { name: 'update-log-retention', everyMs: 60 * 60 * 1000, run: purgeExpiredUpdates },
  { name: 'media-housekeeping', everyMs: 60 * 60 * 1000, run: mediaHousekeeping },
]

export interface Scheduler {
  /** Stops the timers and waits for runs in progress. */
  stop(): Promise<void>
}

/**
 * In-process scheduler (DESIGN §1): each job on its own interval timer. A run is skipped while the
 * previous one is still going, and on PostgreSQL when another node holds the job's lock — in a
 * cluster one node runs each job at a time. A failing run is logged; the next one tries again.
 * Timers are unref'd: they never keep the process alive.
 */
export function startScheduler(deps: Deps, jobs: readonly Job[] = JOBS): Scheduler {
  const running = new Set<Promise<void>>()
  const busy = new Set<string>()
  let stopped = false
  const tick = (job: Job) => {
    if (stopped || busy.has(job.name)) return
    busy.add(job.name)
    const run = withJobLock(deps.store, job.name, () => job.run(deps))
      .then((outcome) => {
        if (!outcome.ran) deps.log.debug({ job: job.name }, 'job running on another node')
      })
      .catch((error: unknown) => deps.log.error({ err: error, job: job.name }, 'job failed'))
      .finally(() => {
        busy.delete(job.name)
        running.delete(run)
      })
    running.add(run)
  }
  const timers = jobs.map((job) => {
    const timer = setInterval(() => tick(job), job.everyMs)
    timer.unref()
    return timer
  })
  return {
    async stop() {
      stopped = true
      for (const timer of timers) clearInterval(timer)
      await Promise.allSettled([...running])
    },
  }
}
