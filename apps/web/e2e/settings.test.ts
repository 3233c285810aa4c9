import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bubbleWith,
  ensureBuilt,
  launchBrowser,
  messageList,
  openChatWith,
  type RunningServer,
  registerThroughUi,
  SCREENSHOTS,
  SKIP_BROWSER,
  sendText,
  seriousViolations,
  startServer,
  testUser,
  watchPage,
} from './harness.ts'

/**
 * The list and the settings around the conversation: message search that opens the message, chat
 * actions (pin, mute, archive), the unread count in the title, the keyboard, presence and privacy,
 * profile, devices, contacts, and blocking that stops delivery.
 */
describe.skipIf(SKIP_BROWSER)('web client list, search and settings (sqlite)', { timeout: 150_000 }, () => {
  let server: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const problems: string[] = []
  const ann = testUser('Ann', 'Other')
  const ben = testUser('Ben', 'Forth')
  let annPage: Page
  let benPage: Page
  let chatPath = ''

  async function newPage(options: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}) {
    const context = await browser.newContext({
      baseURL: server.url,
      viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
      colorScheme: options.colorScheme ?? 'light',
    })
    contexts.push(context)
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    watchPage(page, problems)
    return page
  }

  const chatList = (page: Page) => page.getByRole('navigation', { name: 'Chats' })
  const settings = (page: Page) => page.getByRole('dialog', { name: 'Settings' })

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    annPage = await newPage()
    benPage = await newPage()
    await registerThroughUi(annPage, ann)
    await registerThroughUi(benPage, ben)
    chatPath = await openChatWith(annPage, ben)
    await sendText(annPage, 'The pineapple tart is on the second shelf')
    await sendText(annPage, 'Bring plates')
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('shows unread in the title, presence in the header, and Ctrl+K focuses the search', async () => {
    await benPage.waitForFunction(() => document.title === '(2) Parley')
    await annPage.locator('.conversation > .bar').getByText('online').waitFor()
    await benPage.keyboard.press('Control+K')
    expect(await benPage.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('search')
  })

  it('finds a message on the server and opens the chat at it', async () => {
    await benPage.getByLabel('Search chats and messages').fill('pineapp')
    const results = benPage.getByRole('region', { name: 'Message results' })
    const hit = results.getByRole('link', { name: /pineapple tart/ })
    await hit.waitFor()
    expect(await hit.locator('mark').textContent()).toMatch(/^pineapple$/i)
    await hit.click()
    expect(new URL(benPage.url()).pathname).toMatch(new RegExp(`^${chatPath}/messages/\\d+$`))
    await bubbleWith(benPage, 'The pineapple tart').waitFor()
    await benPage.waitForFunction(() => document.title === 'Parley')
    await benPage.getByLabel('Search chats and messages').fill('')
  })

  it('pins, mutes and archives a chat from its menu; the archived view brings it back', async () => {
    const actions = benPage.getByRole('button', { name: `Actions for ${ann.name}` })
    await actions.click()
    await benPage.getByRole('button', { name: 'Pin', exact: true }).click()
    await chatList(benPage).getByRole('img', { name: 'pinned' }).waitFor()
    await actions.click()
    await benPage.getByRole('button', { name: 'Mute', exact: true }).click()
    await chatList(benPage).getByRole('img', { name: 'muted' }).waitFor()
    await actions.click()
    await benPage.getByRole('button', { name: 'Archive', exact: true }).click()
    await chatList(benPage)
      .getByRole('link', { name: new RegExp(ann.name) })
      .waitFor({ state: 'detached' })
    await benPage.getByRole('button', { name: 'Archived (1)' }).click()
    await benPage.getByRole('heading', { name: 'Archived' }).waitFor()
    await benPage.getByRole('button', { name: `Actions for ${ann.name}` }).click()
    await benPage.getByRole('button', { name: 'Unarchive', exact: true }).click()
    await benPage.getByRole('button', { name: 'Back to chats' }).click()
    await chatList(benPage)
      .getByRole('link', { name: new RegExp(ann.name) })
      .waitFor()
    // The filters: Ann's chat is not a group.
    await benPage.getByRole('button', { name: 'Groups', exact: true }).click()
    await chatList(benPage).getByText('No chats match.').waitFor()
    await benPage.getByRole('button', { name: 'All', exact: true }).click()
  })

  it('edits the profile, and privacy hides last seen from others', async () => {
    await benPage.getByRole('button', { name: 'Settings' }).click()
    const dialog = settings(benPage)
    await dialog.getByLabel('About', { exact: true }).fill('Mostly baking')
    await dialog.getByRole('button', { name: 'Save', exact: true }).click()
    await dialog.getByText('Saved.').first().waitFor()
    await dialog.getByLabel('Who sees my last seen and online').selectOption('nobody')
    await dialog.getByText('Saved.').first().waitFor()
    await benPage.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    expect(await benPage.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Settings')
    await annPage.reload()
    await annPage.getByRole('heading', { name: ben.name }).waitFor()
    await annPage.getByRole('button', { name: `Chat info for ${ben.name}` }).click()
    const info = annPage.getByRole('dialog', { name: 'Chat info' })
    await info.getByText('Mostly baking').waitFor()
    // Hidden by Ben's privacy: no "online", no "last seen", anywhere in Ann's view of him.
    expect(await annPage.getByText(/^online$|last seen/).count()).toBe(0)
    await annPage.keyboard.press('Escape')
  })

  it('lists devices and signs the others out', async () => {
    const second = await newPage()
    await second.goto('/')
    await second.getByLabel('Username').fill(ben.username)
    await second.getByLabel('Password').fill(ben.password)
    await second.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in' }).click()
    await second.getByRole('heading', { name: 'Chats' }).waitFor()

    await benPage.getByRole('button', { name: 'Settings' }).click()
    const dialog = settings(benPage)
    await dialog.getByText('This device').waitFor()
    await dialog.getByRole('button', { name: /^Sign out Chrome/ }).waitFor()
    await dialog.getByRole('button', { name: 'Sign out all other devices' }).click()
    await dialog.getByText('No other devices are signed in.').waitFor()
    // The other browser is back at the sign-in screen.
    await second.getByLabel('Username').waitFor()
  })

  it('has no serious axe violations in settings, light and dark (screenshots)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true })
    const found: string[] = []
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [device, width, height] of [
        ['desktop', 1280, 800],
        ['phone', 375, 812],
      ] as const) {
        await benPage.setViewportSize({ width, height })
        await benPage.emulateMedia({ colorScheme })
        await benPage.goto('/')
        await benPage.getByRole('button', { name: 'Settings' }).click()
        await settings(benPage).getByText('This device').waitFor()
        for (const violation of await seriousViolations(benPage)) {
          found.push(`settings ${colorScheme} ${device}: ${violation}`)
        }
        await benPage.screenshot({ path: path.join(SCREENSHOTS, `settings-${colorScheme}-${device}.png`) })
        await benPage.keyboard.press('Escape')
        await settings(benPage).waitFor({ state: 'detached' })
        await chatList(benPage)
          .getByRole('link', { name: new RegExp(ann.name) })
          .waitFor()
        for (const violation of await seriousViolations(benPage)) {
          found.push(`chat list ${colorScheme} ${device}: ${violation}`)
        }
      }
    }
    await benPage.setViewportSize({ width: 1280, height: 800 })
    await benPage.emulateMedia({ colorScheme: 'light' })
    expect(found).toEqual([])
  })

  it('adds a contact by username; blocking stops delivery, unblocking lets it through again', async () => {
    await annPage.getByRole('button', { name: 'Settings' }).click()
    const annSettings = settings(annPage)
    await annSettings.getByLabel('Username').fill(ben.username)
    await annSettings.getByRole('button', { name: 'Send request' }).click()
    await annSettings.getByText(`Request sent to ${ben.username}.`).waitFor()
    await annPage.keyboard.press('Escape')

    await benPage.getByRole('button', { name: 'Settings' }).click()
    await settings(benPage)
      .getByRole('button', { name: `Accept ${ann.name}` })
      .click()
    await settings(benPage)
      .getByRole('button', { name: `Block ${ann.name}` })
      .waitFor()
    await benPage.keyboard.press('Escape')

    // Ann blocks Ben from the chat's info panel.
    await annPage.goto(chatPath)
    await annPage.getByRole('button', { name: `Chat info for ${ben.name}` }).click()
    const info = annPage.getByRole('dialog', { name: 'Chat info' })
    await info.getByRole('button', { name: `Block ${ben.name}` }).click()
    await info.getByRole('button', { name: `Unblock ${ben.name}` }).waitFor()
    await annPage.keyboard.press('Escape')

    await benPage.goto(chatPath)
    await sendText(benPage, 'Sent while blocked')
    await bubbleWith(benPage, 'Sent while blocked').getByRole('img', { name: 'Sent' }).waitFor()

    await annPage.getByRole('button', { name: `Chat info for ${ben.name}` }).click()
    await info.getByRole('button', { name: `Unblock ${ben.name}` }).click()
    await info.getByRole('button', { name: `Block ${ben.name}` }).waitFor()
    await annPage.keyboard.press('Escape')
    await sendText(benPage, 'Sent after unblocking')
    // Updates arrive in order: once the later message is here, the blocked one would have been too.
    await bubbleWith(annPage, 'Sent after unblocking').waitFor()
    expect(await messageList(annPage).getByText('Sent while blocked').count()).toBe(0)
    await annPage.reload()
    await bubbleWith(annPage, 'Sent after unblocking').waitFor()
    expect(await messageList(annPage).getByText('Sent while blocked').count()).toBe(0)
  })

  it('raised no page errors, console errors or dialogs', () => {
    expect(problems).toEqual([])
  })
})
