import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bubbleWith,
  ensureBuilt,
  launchBrowser,
  messageList,
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
 * A group of three in three browsers: created by name and picked members, messages reach both others,
 * "read by N of M" moves as each reads, the info panel manages members and roles, system messages name
 * who did what, and leaving works. Screenshots and axe of the group info panel.
 */
describe.skipIf(SKIP_BROWSER)('web client groups (sqlite)', { timeout: 150_000 }, () => {
  let server: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const problems: string[] = []
  const ada = testUser('Ada', 'Lovelace')
  const bob = testUser('Bob', 'Babbage')
  const cy = testUser('Cy', 'Young')
  let adaPage: Page
  let bobPage: Page
  let cyPage: Page
  let groupPath = ''

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

  const row = (page: Page, name: RegExp) =>
    page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name })

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    adaPage = await newPage()
    bobPage = await newPage()
    cyPage = await newPage()
    await registerThroughUi(adaPage, ada)
    await registerThroughUi(bobPage, bob)
    await registerThroughUi(cyPage, cy)
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('creates a group by name and picked members; a message reaches both others', async () => {
    await adaPage.getByRole('button', { name: 'New group' }).click()
    const dialog = adaPage.getByRole('dialog', { name: 'New group' })
    await dialog.getByLabel('Group name').fill('Analytical Engine')
    for (const person of [bob, cy]) {
      await dialog.getByLabel('Add people').fill(person.username)
      await dialog.getByRole('checkbox', { name: new RegExp(person.name) }).check()
    }
    await dialog.getByText('2 people selected').waitFor()
    await dialog.getByRole('button', { name: 'Create group' }).click()
    await adaPage.getByRole('heading', { name: 'Analytical Engine' }).waitFor()
    groupPath = new URL(adaPage.url()).pathname
    await messageList(adaPage).getByText('You created the group').waitFor()

    await sendText(adaPage, 'Hello, both of you')
    for (const page of [bobPage, cyPage]) {
      await row(page, /Analytical Engine/)
        .filter({ hasText: 'Hello, both of you' })
        .waitFor()
    }
  })

  it('moves "read by N of M" as each member reads', async () => {
    const adaRow = row(adaPage, /Analytical Engine/)
    await adaRow.getByText('Read by 0 of 2').waitFor()
    await row(bobPage, /Analytical Engine/).click()
    await bubbleWith(bobPage, 'Hello, both of you').waitFor()
    // Bob's client knows the members: the system message names Ada.
    await messageList(bobPage).getByText(`${ada.name} created the group`).waitFor()
    await adaRow.getByText('Read by 1 of 2').waitFor()
    await row(cyPage, /Analytical Engine/).click()
    await bubbleWith(cyPage, 'Hello, both of you').waitFor()
    await adaRow.getByText('Read by 2 of 2').waitFor()
  })

  it('manages members from the info panel: roles, rename, remove; system messages say so', async () => {
    await adaPage.getByRole('button', { name: 'Group info for Analytical Engine' }).click()
    const panel = adaPage.getByRole('dialog', { name: 'Group info' })
    const members = panel.getByRole('list').first()
    await members
      .getByRole('listitem')
      .filter({ hasText: bob.name })
      .getByText('member', { exact: true })
      .waitFor()
    await panel.getByRole('listitem').filter({ hasText: 'You' }).getByText('admin', { exact: true }).waitFor()

    await panel.getByRole('button', { name: `Make ${bob.name} an admin` }).click()
    await panel.getByRole('button', { name: `Dismiss ${bob.name} as admin` }).waitFor()
    await messageList(bobPage).getByText(`${ada.name} made you an admin`).waitFor()

    await panel.getByLabel('Group name').fill('Difference Engine')
    await panel.getByRole('button', { name: 'Save name and description' }).click()
    await panel.getByText('Saved.').waitFor()
    await bobPage.getByRole('heading', { name: 'Difference Engine' }).waitFor()

    await panel.getByRole('button', { name: `Remove ${cy.name} from the group` }).click()
    await panel.getByText('2 members').waitFor()
    await messageList(bobPage).getByText(`${ada.name} removed ${cy.name}`).waitFor()
    // Cy is out: the group leaves Cy's list.
    await row(cyPage, /Difference Engine|Analytical Engine/).waitFor({ state: 'detached' })
    await panel.getByRole('button', { name: 'Close' }).click()
    // Focus goes back to the button that opened the panel.
    const opener = adaPage.getByRole('button', { name: 'Group info for Difference Engine' })
    expect(await opener.evaluate((element) => element === document.activeElement)).toBe(true)
  })

  it('has no serious axe violations in the group info panel, light and dark (screenshots)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true })
    const found: string[] = []
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [device, width, height] of [
        ['desktop', 1280, 800],
        ['phone', 375, 812],
      ] as const) {
        await adaPage.setViewportSize({ width, height })
        await adaPage.emulateMedia({ colorScheme })
        await adaPage.goto(groupPath)
        await bubbleWith(adaPage, 'Hello, both of you').waitFor()
        // Cy is no longer a member: the name is looked up for the system message.
        await messageList(adaPage).getByText(`You removed ${cy.name}`).waitFor()
        await adaPage.getByRole('button', { name: 'Group info for Difference Engine' }).click()
        const panel = adaPage.getByRole('dialog', { name: 'Group info' })
        await panel.getByText('2 members').waitFor()
        for (const violation of await seriousViolations(adaPage)) {
          found.push(`group-info ${colorScheme} ${device}: ${violation}`)
        }
        await adaPage.screenshot({ path: path.join(SCREENSHOTS, `group-info-${colorScheme}-${device}.png`) })
        await adaPage.keyboard.press('Escape')
        await panel.waitFor({ state: 'detached' })
      }
    }
    await adaPage.setViewportSize({ width: 1280, height: 800 })
    await adaPage.emulateMedia({ colorScheme: 'light' })
    expect(found).toEqual([])
  })

  it('leaving takes the group off the list, and the others read who left', async () => {
    await bobPage.getByRole('button', { name: 'Group info for Difference Engine' }).click()
    const panel = bobPage.getByRole('dialog', { name: 'Group info' })
    await panel.getByRole('button', { name: 'Leave group' }).click()
    await panel.getByRole('button', { name: 'Yes, leave' }).click()
    await row(bobPage, /Difference Engine/).waitFor({ state: 'detached' })
    await adaPage.goto(groupPath)
    await messageList(adaPage).getByText(`${bob.name} left`).waitFor()
  })

  it('raised no page errors, console errors or dialogs', () => {
    expect(problems).toEqual([])
  })
})
