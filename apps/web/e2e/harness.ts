import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots')

/** Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it). Never `playwright install`. */
export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium'
const ci = process.env.CI === 'true'
const present = fs.existsSync(CHROMIUM)
/**
 * Locally without Chromium the browser suite is skipped with a message; in CI (CI=true) it runs and
 * fails at launch, so a missing browser can never pass as a green run.
 */
export const SKIP_BROWSER = !present && !ci
if (SKIP_BROWSER) {
  console.warn(
    `apps/web/e2e: skipped — no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` ` +
      '(or point PARLEY_CHROMIUM at one) to run the browser tests.',
  )
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** Builds apps/web/dist when it is missing or older than its sources (the same check as `npm start`). */
export function ensureBuilt() {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'apps/web/scripts/ensure-built.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  if (result.status !== 0) throw new Error('building apps/web failed')
}

export interface RunningServer {
  url: string
  /** Resolves with the first log line (from now on or already seen) that matches. */
  waitForLog(pattern: RegExp): Promise<string>
  stop(): Promise<void>
}

/**
 * Starts the real server as `npm start` does (tsx, embedded SQLite, console SMS), on a free port with
 * its own data dir, and reads its log: sign-in codes are taken from it like a person would.
 */
export async function startServer(): Promise<RunningServer> {
  const port = await freePort()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'))
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PARLEY_')) env[key] = value
  Object.assign(env, {
    NODE_ENV: 'development',
    PARLEY_HOST: '127.0.0.1',
    PARLEY_PORT: String(port),
    PARLEY_DATA_DIR: dataDir,
    PARLEY_LOG_LEVEL: 'info',
    // Two browsers on one address: the per-IP limit is not what this suite tests.
    PARLEY_RATE_LIMIT_PER_IP: '1000000',
    PARLEY_RATE_LIMIT_PER_USER: '1000000',
  })
  const require = createRequire(import.meta.url)
  const tsx = require.resolve('tsx')
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', tsx, path.join(ROOT, 'apps/server/src/main.ts')],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  let buffer = ''
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('utf8')
    const parts = buffer.split('\n')
    buffer = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const waitForLog = (pattern: RegExp) => {
    const seen = lines.find((line) => pattern.test(line))
    if (seen) return Promise.resolve(seen)
    return new Promise<string>((resolve, reject) => {
      waiters.push({ pattern, resolve })
      void exited.then(() => reject(new Error(`the server exited:\n${lines.join('\n')}`)))
    })
  }
  await waitForLog(/Parley listening on/)
  return {
    url: `http://127.0.0.1:${port}`,
    waitForLog,
    async stop() {
      child.kill('SIGTERM')
      await exited
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: Array<{ target: unknown[] }>
}
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * Runs axe-core in the page and answers its serious and critical violations. The script goes in through
 * the debugging protocol (page.evaluate), not a <script> tag, so the app's CSP stays as served.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe
    return (await axe.run()).violations
  })
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes
          .map((node) => JSON.stringify(node.target))
          .join(', ')}`,
    )
}

/** Collects what must never happen in a page: uncaught errors, console errors (CSP refusals), dialogs. */
export function watchPage(page: Page, problems: string[]) {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  page.on('dialog', (dialog) => {
    problems.push(`dialog (${dialog.type()}): ${dialog.message()}`)
    void dialog.dismiss()
  })
}

// ── shared steps of the shell suites (offline, groups, settings) ────────────────────────────────

export interface TestUser {
  username: string
  name: string
  password: string
}

/** A user with a unique username (the suites share nothing but the server they start). */
export function testUser(first: string, last: string): TestUser {
  const suffix = Math.random().toString(16).slice(2, 8)
  return {
    username: `${first.toLowerCase()}_${suffix}`,
    name: `${first} ${last}`,
    password: `pw-${suffix}-long-enough`,
  }
}

/** Creates the account through the sign-in screen and waits for the chat list. */
export async function registerThroughUi(page: Page, user: TestUser) {
  await page.goto('/')
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByLabel('Your name').fill(user.name)
  await page.getByLabel('Username').fill(user.username)
  await page.getByLabel('Password').fill(user.password)
  await page
    .getByRole('form', { name: 'Create account' })
    .getByRole('button', { name: 'Create account' })
    .click()
  await page.getByRole('heading', { name: 'Chats' }).waitFor()
}

/** Opens the private chat with `other` through "New chat"; answers its path (/chats/:id). */
export async function openChatWith(page: Page, other: TestUser): Promise<string> {
  await page.getByRole('button', { name: 'New chat' }).click()
  const dialog = page.getByRole('dialog', { name: 'New chat' })
  await dialog.getByLabel('Search people').fill(other.username)
  await dialog.getByRole('button', { name: new RegExp(other.name) }).click()
  await page.getByRole('heading', { name: other.name }).waitFor()
  return new URL(page.url()).pathname
}

export const messageList = (page: Page) => page.getByRole('list', { name: 'Messages' })
export const bubbleWith = (page: Page, text: string) =>
  messageList(page).getByRole('listitem').filter({ hasText: text })

/** Types a message in the open conversation and sends it with Enter. */
export async function sendText(page: Page, text: string) {
  const composer = page.getByRole('textbox', { name: 'Message' })
  await composer.fill(text)
  await composer.press('Enter')
}
