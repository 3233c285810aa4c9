import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ensureBuilt,
  launchBrowser,
  type RunningServer,
  SCREENSHOTS,
  SKIP_BROWSER,
  seriousViolations,
  startServer,
  watchPage,
} from './harness.ts'

/**
 * The web client end to end: the real server (as `npm start` runs it, serving apps/web/dist) and
 * Chromium driven by playwright-core. Elements are found by role and label, as a screen reader names
 * them. Nothing sleeps: every step waits for what a person would see.
 */
describe.skipIf(SKIP_BROWSER)('web client in Chromium (sqlite)', { timeout: 180_000 }, () => {
  let server: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const problems: string[] = []
  const suffix = crypto.randomBytes(3).toString('hex')
  const alice = { username: `alice_${suffix}`, name: 'Alice Liddell', password: 'looking-glass-42' }
  const bob = { username: `bob_${suffix}`, name: 'Bob Dylan', password: 'blowin-in-the-wind' }
  let alicePage: Page
  let bobPage: Page
  let chatPath = ''

  async function newPage(
    options: {
      colorScheme?: 'light' | 'dark'
      width?: number
      height?: number
      context?: BrowserContext
    } = {},
  ) {
    const context =
      options.context ??
      (await browser.newContext({
        baseURL: server.url,
        viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
        colorScheme: options.colorScheme ?? 'light',
      }))
    if (!options.context) contexts.push(context)
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    watchPage(page, problems)
    return page
  }

  async function register(page: Page, user: typeof alice) {
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

  const messages = (page: Page) => page.getByRole('list', { name: 'Messages' })
  const bubble = (page: Page, text: string) => messages(page).getByRole('listitem').filter({ hasText: text })

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    alicePage = await newPage()
    bobPage = await newPage()
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('serves the app at / and client routes, with a CSP that allows no inline script', async () => {
    const home = await fetch(`${server.url}/`)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-security-policy')).toMatch(/script-src 'self';/)
    expect(await home.text()).toContain('<div id="root">')
    const deep = await fetch(`${server.url}/chats/12`, { headers: { accept: 'text/html' } })
    expect(deep.status).toBe(200)
    expect(deep.headers.get('content-type')).toMatch(/^text\/html/)
    const api = await fetch(`${server.url}/api/nothing-here`, { headers: { accept: 'text/html' } })
    expect(api.status).toBe(404)
    expect(await api.json()).toMatchObject({ success: false, error: { code: 'not_found' } })
  })

  it('two people register, start a chat and see delivered, then read ticks', async () => {
    await register(alicePage, alice)
    await register(bobPage, bob)

    await alicePage.getByRole('button', { name: 'New chat' }).click()
    const dialog = alicePage.getByRole('dialog', { name: 'New chat' })
    await dialog.getByLabel('Search people').fill(bob.username)
    await dialog.getByRole('button', { name: new RegExp(bob.name) }).click()
    await alicePage.getByRole('heading', { name: bob.name }).waitFor()
    chatPath = new URL(alicePage.url()).pathname
    expect(chatPath).toMatch(/^\/chats\/\d+$/)

    const composer = alicePage.getByRole('textbox', { name: 'Message' })
    await composer.fill('Hello Bob, are you there?')
    await composer.press('Enter')
    // Bob is online on his chat list: the message reaches his device.
    await bubble(alicePage, 'Hello Bob').getByRole('img', { name: 'Delivered' }).waitFor()

    const row = bobPage.getByRole('link', { name: new RegExp(`${alice.name}.*1 unread`) })
    await row.waitFor()
    await expect(row.textContent()).resolves.toContain('Hello Bob, are you there?')
    await row.click()
    await bubble(bobPage, 'Hello Bob').waitFor()
    // Bob has it on screen: Alice's tick turns to read.
    await bubble(alicePage, 'Hello Bob').getByRole('img', { name: 'Read' }).waitFor()
  })

  it('shows typing and delivers replies live, with Shift+Enter for a new line', async () => {
    const composer = bobPage.getByRole('textbox', { name: 'Message' })
    await composer.pressSequentially('Hi Alice')
    await alicePage.getByText(`${bob.name} is typing…`).waitFor()
    await composer.press('Shift+Enter')
    await composer.pressSequentially('second line')
    await composer.press('Enter')
    const reply = bubble(alicePage, 'Hi Alice')
    await reply.waitFor()
    expect(await reply.locator('.bubble-text').textContent()).toBe('Hi Alice\nsecond line')
    await alicePage.getByText(`${bob.name} is typing…`).waitFor({ state: 'hidden' })
    // Today's messages sit under one day separator.
    await messages(alicePage)
      .getByRole('listitem')
      .filter({ hasText: /^Today$/ })
      .waitFor()
  })

  it('renders message text as text: an HTML payload stays inert and links are safe', async () => {
    const composer = alicePage.getByRole('textbox', { name: 'Message' })
    await composer.fill('<img src=x onerror=alert(1)>')
    await composer.press('Enter')
    await composer.fill('Docs at https://example.com/guide.')
    await composer.press('Enter')
    const xss = bubble(bobPage, '<img src=x onerror=alert(1)>')
    await xss.waitFor()
    expect(await messages(bobPage).locator('img').count()).toBe(0)
    const link = bubble(bobPage, 'Docs at').getByRole('link', { name: 'https://example.com/guide' })
    expect(await link.getAttribute('href')).toBe('https://example.com/guide')
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
    expect(problems.filter((problem) => problem.startsWith('dialog'))).toEqual([])
  })

  it('stays signed in across a reload and reopens the conversation', async () => {
    await alicePage.reload()
    await alicePage.getByRole('heading', { name: bob.name }).waitFor()
    await bubble(alicePage, 'Hi Alice').waitFor()
    await alicePage.getByRole('link', { name: new RegExp(bob.name) }).waitFor()
  })

  it('signs in with a phone number and the code from the server log, then signs out', async () => {
    const page = await newPage()
    const phone = `+1415555${String(crypto.randomInt(1000, 9999))}`
    await page.goto('/')
    await page.getByRole('button', { name: 'Phone' }).click()
    await page.getByLabel('Phone number').fill(phone)
    await page.getByRole('button', { name: 'Send code' }).click()
    await page.getByText(/the code is printed in the server log/i).waitFor()
    const line = await server.waitForLog(new RegExp(`SMS to \\${phone}`))
    const code = /code is (\d{6})/.exec(line)?.[1]
    expect(code).toMatch(/^\d{6}$/)
    await page.getByLabel('Code').fill(code ?? '')
    await page.getByRole('button', { name: 'Sign in with code' }).click()
    await page.getByRole('heading', { name: 'Chats' }).waitFor()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Username').waitFor()
    // Still signed out after a reload: the stored session is gone.
    await page.reload()
    await page.getByLabel('Username').waitFor()
  })

  it('has no serious or critical axe-core violations, light and dark, desktop and phone (screenshots)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true })
    const found: string[] = []
    const aliceContext = alicePage.context()
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [device, width, height] of [
        ['desktop', 1280, 800],
        ['phone', 375, 812],
      ] as const) {
        const shot = async (page: Page, screen: string) => {
          for (const violation of await seriousViolations(page))
            found.push(`${screen} ${colorScheme} ${device}: ${violation}`)
          await page.screenshot({ path: path.join(SCREENSHOTS, `${screen}-${colorScheme}-${device}.png`) })
        }
        const signIn = await newPage({ colorScheme, width, height })
        await signIn.goto('/')
        await signIn.getByLabel('Username').waitFor()
        await shot(signIn, 'sign-in')
        await signIn.context().close()

        const page = await newPage({ context: aliceContext })
        await page.setViewportSize({ width, height })
        await page.emulateMedia({ colorScheme })
        await page.goto('/')
        await page.getByRole('link', { name: new RegExp(bob.name) }).waitFor()
        await shot(page, 'chats')
        await page.goto(chatPath)
        await bubble(page, 'Docs at').waitFor()
        await shot(page, 'conversation')
        await page.close()
      }
    }
    expect(found).toEqual([])
  })

  it('raised no page errors, console errors (CSP refusals included) or dialogs', () => {
    expect(problems).toEqual([])
  })
})
