import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiUser, registerByApi, sendMany, signIn } from './api.ts'
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
 * Message actions end to end, two people in two browser contexts: reply (and its quote leading back to
 * the original), reactions, edit with ↑, delete for everyone and for me, forward; each seen live on
 * the other side. Then a deep link. Actions are reached with the keyboard where a person could.
 */
describe.skipIf(SKIP_BROWSER)('message actions in Chromium (sqlite)', { timeout: 120_000 }, () => {
  let server: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const problems: string[] = []
  let alice: ApiUser
  let bob: ApiUser
  let carol: ApiUser
  let chatId = 0
  let carolChatId = 0
  let firstMessageId = 0
  let alicePage: Page
  let bobPage: Page

  async function newPage() {
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } })
    contexts.push(context)
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    watchPage(page, problems)
    return page
  }

  const messages = (page: Page) => page.getByRole('list', { name: 'Messages' })
  const bubble = (page: Page, text: string | RegExp) =>
    messages(page)
      .getByRole('listitem')
      .filter({ has: page.locator('.bubble-text', { hasText: text }) })
  const actionsOf = (row: Locator) => row.getByRole('button', { name: /^Actions for message from/ })
  const focused = (page: Page) =>
    page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName)

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    ;[alice, bob, carol] = await Promise.all([
      registerByApi(server.url, 'Alice Liddell'),
      registerByApi(server.url, 'Bob Dylan'),
      registerByApi(server.url, 'Carol King'),
    ])
    chatId = (await alice.rest.chats.open(bob.id)).chat.id
    carolChatId = (await carol.rest.chats.open(alice.id)).chat.id
    const first = await bob.rest.messages.send(chatId, {
      message_type: 'text',
      content: 'Morning Alice, coffee?',
    })
    firstMessageId = first.message.id
    await sendMany(alice.rest, chatId, ['Let me check my calendar'])
    await sendMany(carol.rest, carolChatId, ['Recipe tip: more garlic'])
    alicePage = await newPage()
    bobPage = await newPage()
    await signIn(alicePage, alice)
    await signIn(bobPage, bob)
    await alicePage.goto(`/chats/${chatId}`)
    await bobPage.goto(`/chats/${chatId}`)
    await bubble(alicePage, 'Let me check my calendar').waitFor()
    await bubble(bobPage, 'Let me check my calendar').waitFor()
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('replies from the keyboard: the menu opens with Enter, Esc closes it, the quote leads back', async () => {
    const original = bubble(alicePage, 'Morning Alice, coffee?')
    await actionsOf(original).focus()
    await alicePage.keyboard.press('Enter')
    const menu = alicePage.getByRole('menu', { name: 'Message actions' })
    await menu.waitFor()
    // Focus is in the menu; Esc closes it and gives the focus back to the button.
    await alicePage.keyboard.press('Escape')
    await menu.waitFor({ state: 'hidden' })
    expect(await focused(alicePage)).toMatch(/^Actions for message from Bob Dylan: Morning Alice, coffee\?/)
    await alicePage.keyboard.press('Enter')
    await menu.waitFor()
    // Arrow keys walk the items (six reactions first), Enter picks one.
    for (let step = 0; step < 6; step++) await alicePage.keyboard.press('ArrowDown')
    expect(await focused(alicePage)).toBe('BUTTON')
    await expect(alicePage.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Reply')
    await alicePage.keyboard.press('Enter')
    await alicePage.getByText('Replying to Bob Dylan').waitFor()
    // Esc leaves reply mode; the menu again, then reply for real.
    const composer = alicePage.getByRole('textbox', { name: 'Message' })
    await composer.press('Escape')
    await alicePage.getByText('Replying to Bob Dylan').waitFor({ state: 'hidden' })
    await actionsOf(original).click()
    await menu.getByRole('menuitem', { name: 'Reply' }).click()
    await composer.fill('Yes please, oat milk')
    await composer.press('Enter')

    const reply = bubble(bobPage, 'Yes please, oat milk')
    const quote = reply.getByRole('button', { name: /^You Morning Alice, coffee\?/ })
    await quote.waitFor()
    await quote.click()
    await bobPage.locator('.bubble.highlight', { hasText: 'Morning Alice, coffee?' }).waitFor()
    await expect(bobPage.evaluate(() => document.activeElement?.textContent ?? '')).resolves.toContain(
      'Morning Alice, coffee?',
    )
  })

  it('reactions show live with counts and who reacted; my own toggles', async () => {
    await actionsOf(bubble(bobPage, 'Yes please, oat milk')).click()
    await bobPage.getByRole('menuitemcheckbox', { name: 'React with 👍' }).click()
    const chip = bubble(alicePage, 'Yes please, oat milk').getByRole('button', { name: '👍 1: Bob Dylan' })
    await chip.waitFor()
    expect(await chip.getAttribute('aria-pressed')).toBe('false')
    await chip.click()
    // Who reacted, in the server's order; on Bob's screen he is "You".
    const both = bubble(bobPage, 'Yes please, oat milk').getByRole('button', { name: /^👍 2: / })
    await both.waitFor()
    expect((await both.getAttribute('aria-label'))?.split(': ')[1]?.split(', ').sort()).toEqual([
      'Alice Liddell',
      'You',
    ])
    const mine = bubble(alicePage, 'Yes please, oat milk').getByRole('button', {
      name: '👍 2: Bob Dylan, You',
    })
    expect(await mine.getAttribute('aria-pressed')).toBe('true')
    await mine.click()
    await bubble(bobPage, 'Yes please, oat milk').getByRole('button', { name: '👍 1: You' }).waitFor()
  })

  it('↑ in the empty composer edits my last message; the other side sees it edited', async () => {
    const composer = alicePage.getByRole('textbox', { name: 'Message' })
    await composer.focus()
    await composer.press('ArrowUp')
    await alicePage.getByText('Editing message').waitFor()
    expect(await composer.inputValue()).toBe('Yes please, oat milk')
    await composer.fill('Yes please, with oat milk')
    await composer.press('Enter')
    const edited = bubble(bobPage, 'Yes please, with oat milk')
    await edited.waitFor()
    await edited.getByText('edited', { exact: true }).waitFor()
    // The reaction survived the edit.
    await edited.getByRole('button', { name: '👍 1: You' }).waitFor()
  })

  it('a reply, a reaction and an edit look right, light and dark, desktop and phone (screenshots, axe)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true })
    const found: string[] = []
    const page = await alicePage.context().newPage()
    watchPage(page, problems)
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [device, width, height] of [
        ['desktop', 1280, 800],
        ['phone', 375, 812],
      ] as const) {
        await page.setViewportSize({ width, height })
        await page.emulateMedia({ colorScheme })
        await page.goto(`/chats/${chatId}`)
        await bubble(page, 'Yes please, with oat milk').getByText('edited', { exact: true }).waitFor()
        for (const violation of await seriousViolations(page))
          found.push(`${colorScheme} ${device}: ${violation}`)
        await page.screenshot({
          path: path.join(SCREENSHOTS, `conversation-actions-${colorScheme}-${device}.png`),
        })
      }
    }
    // The menu open, too (it is rendered outside the list).
    await page.setViewportSize({ width: 1280, height: 800 })
    await actionsOf(bubble(page, 'Morning Alice, coffee?')).click()
    await page.getByRole('menu').waitFor()
    for (const violation of await seriousViolations(page)) found.push(`menu: ${violation}`)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'conversation-menu-dark-desktop.png') })
    await page.close()
    expect(found).toEqual([])
  })

  it('deletes for everyone (placeholder on both sides) and for me (gone for me only)', async () => {
    const composer = alicePage.getByRole('textbox', { name: 'Message' })
    await composer.fill('Oops, wrong chat')
    await composer.press('Enter')
    await bubble(bobPage, 'Oops, wrong chat').waitFor()
    await actionsOf(bubble(alicePage, 'Oops, wrong chat')).click()
    await alicePage.getByRole('menuitem', { name: 'Delete for everyone' }).click()
    await bubble(bobPage, 'Oops, wrong chat').waitFor({ state: 'detached' })
    await bubble(bobPage, 'This message was deleted').waitFor()
    await bubble(alicePage, 'This message was deleted').waitFor()

    // Bob cannot delete Alice's message for everyone; for himself he can.
    await actionsOf(bubble(bobPage, 'Let me check my calendar')).click()
    const menu = bobPage.getByRole('menu')
    expect(await menu.getByRole('menuitem', { name: 'Delete for everyone' }).count()).toBe(0)
    await menu.getByRole('menuitem', { name: 'Delete for me' }).click()
    await bubble(bobPage, 'Let me check my calendar').waitFor({ state: 'detached' })
    // Still there for Alice, after a reload too (the server agrees).
    await alicePage.reload()
    await bubble(alicePage, 'Let me check my calendar').waitFor()
    await bobPage.reload()
    await bubble(bobPage, 'Yes please, with oat milk').waitFor()
    expect(await bubble(bobPage, 'Let me check my calendar').count()).toBe(0)
  })

  it('forwards a message from another chat; it arrives live marked forwarded', async () => {
    await alicePage.getByRole('link', { name: /Carol King/ }).click()
    await actionsOf(bubble(alicePage, 'Recipe tip: more garlic')).click()
    await alicePage.getByRole('menuitem', { name: 'Forward' }).click()
    const dialog = alicePage.getByRole('dialog', { name: 'Forward message' })
    await dialog.getByRole('checkbox', { name: 'Bob Dylan' }).check()
    await dialog.getByRole('button', { name: 'Forward' }).click()
    await dialog.waitFor({ state: 'hidden' })
    const forwarded = bubble(bobPage, 'Recipe tip: more garlic')
    await forwarded.waitFor()
    await forwarded.getByText('Forwarded').waitFor()
  })

  it('a deep link opens the chat at its message, highlighted and focused', async () => {
    await bobPage.goto('/')
    await bobPage.getByRole('heading', { name: 'Chats' }).waitFor()
    await bobPage.goto(`/chats/${chatId}/messages/${firstMessageId}`)
    await bobPage.locator('.bubble.highlight', { hasText: 'Morning Alice, coffee?' }).waitFor()
    await expect(bobPage.evaluate(() => document.activeElement?.textContent ?? '')).resolves.toContain(
      'Morning Alice, coffee?',
    )
    // A message that is not there says so instead of failing silently. (Chromium logs the history
    // request's 404 as a console error: that one is expected, nothing else.)
    const before = problems.length
    await bobPage.goto(`/chats/${chatId}/messages/999999`)
    await bobPage.getByText('That message is not available', { exact: false }).waitFor()
    const added = problems.splice(before)
    expect(added.every((problem) => /status of 404/.test(problem))).toBe(true)
  })

  it('raised no page errors, console errors or dialogs', () => {
    expect(problems).toEqual([])
  })
})
