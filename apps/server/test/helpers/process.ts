import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')
const mainScript = path.join(repoRoot, 'apps/server/src/main.ts')

/** A port nobody is using right now, from the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

export interface Running {
  child: ChildProcess
  url: string
  output: string[]
}

/** Spawns `command args` and waits, at most `timeoutMs`, for `ready` to appear in its output. */
export async function spawnUntil(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; ready: string; timeoutMs?: number; url?: string },
): Promise<Running> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const timeoutMs = options.timeoutMs ?? 20_000
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} did not start within ${timeoutMs} ms:\n${output.join('')}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString())
      if (output.join('').includes(options.ready)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code ?? signal}) before it was ready:\n${output.join('')}`))
    })
  })
  child.removeAllListeners('exit')
  return { child, url: options.url ?? '', output }
}

/**
 * Starts the real server (`node --import tsx apps/server/src/main.ts`) on `port` with `env` on top of
 * test defaults, and waits for its "listening" log line.
 */
export function startServerProcess(port: number, env: NodeJS.ProcessEnv): Promise<Running> {
  return spawnUntil(process.execPath, ['--import', 'tsx', mainScript], {
    ready: 'Parley listening',
    url: `http://127.0.0.1:${port}`,
    env: {
      ...process.env,
      PARLEY_HOST: '127.0.0.1',
      PARLEY_PORT: String(port),
      PARLEY_LOG_LEVEL: 'info',
      PARLEY_DATABASE_URL: '',
      PARLEY_REDIS_URL: '',
      PARLEY_RATE_LIMIT_PER_IP: '1000000',
      PARLEY_RATE_LIMIT_PER_USER: '1000000',
      ...env,
    },
  })
}

export async function stopProcess(running: Running | undefined, signal: NodeJS.Signals): Promise<void> {
  const child = running?.child
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}
