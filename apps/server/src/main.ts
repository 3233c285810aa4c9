import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { buildDeps } from './deps.ts'
import { startScheduler } from './jobs/scheduler.ts'

async function main() {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
  const deps = await buildDeps(config)
  const app = await buildApp(deps)
  // A reconnect storm opens thousands of connections at once; Node's default accept queue (511) overflows
  // and the kernel resets some of them (measured: bench/README.md, storm). The kernel caps this at
  // net.core.somaxconn.
  await app.listen({ host: config.host, port: config.port, backlog: 4096 })
  const jobs = startScheduler(deps)
  deps.log.info(
    { database: deps.store.dialect, bus: config.redisUrl ? 'redis' : 'memory', sms: config.sms.driver },
    `Parley listening on http://localhost:${config.port}`,
  )

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    deps.log.info({ signal }, 'shutting down')
    await app.close()
    await jobs.stop()
    await deps.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
