import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BIN = '/usr/lib/postgresql/15/bin'

/**
 * A throw-away PostgreSQL 15 cluster on a loopback port, for tests that stop and restart it (never the
 * shared one other suites use). initdb refuses to run as root, so it runs as `postgres`, with its data
 * under a temp dir owned by postgres.
 */
export class OwnPostgres {
  private constructor(
    readonly root: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  private get data(): string {
    return path.join(this.root, 'data')
  }

  private static asPostgres(command: string, args: string[]) {
    const asRoot = process.getuid?.() === 0
    return asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(BIN, command), ...args], { timeout: 60_000 })
      : run(path.join(BIN, command), args, { timeout: 60_000 })
  }

  static async create(port: number): Promise<OwnPostgres> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-pg-'))
    if (process.getuid?.() === 0) await run('chown', ['postgres', root])
    const server = new OwnPostgres(root, port)
    await OwnPostgres.asPostgres('initdb', ['-D', server.data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    await server.start()
    return server
  }

  async start(): Promise<void> {
    await OwnPostgres.asPostgres('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.root, 'log'),
      '-o',
      `-p ${this.port} -k ${this.root} -c listen_addresses=127.0.0.1 -c max_connections=60`,
      '-w',
      'start',
    ])
  }

  /** `fast` rolls back open transactions and ends sessions (what a restart by an operator does). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await OwnPostgres.asPostgres('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop'])
  }

  async restart(): Promise<void> {
    await OwnPostgres.asPostgres('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.root, 'log'),
      '-m',
      'fast',
      '-w',
      'restart',
    ])
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {})
    fs.rmSync(this.root, { recursive: true, force: true })
  }
}
