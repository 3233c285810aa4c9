import fs from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import sharp from 'sharp'
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
 * Media end to end, two people in two browser contexts: Alice attaches files with the composer's
 * picker (real multipart sends to the real server, local-disk media), Bob sees them rendered — the
 * image's bytes through the media cookie — opens the photo viewer and closes it with Esc; a PDF is a
 * card with its name; a refused file shows its coded error with retry and remove.
 */
describe.skipIf(SKIP_BROWSER)('media in Chromium (sqlite)', { timeout: 120_000 }, () => {
  let server: RunningServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  const problems: string[] = []
  let alice: ApiUser
  let bob: ApiUser
  let chatId = 0
  let alicePage: Page
  let bobPage: Page

  async function newPage() {
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } })
    contexts.push(context)
    context.setDefaultTimeout(20_000)
    const page = await context.newPage()
    watchPage(page, problems)
    return page
  }

  const messages = (page: Page) => page.getByRole('list', { name: 'Messages' })

  async function attach(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
    await page.getByTestId('attach-input').setInputFiles(files)
  }

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    ;[alice, bob] = await Promise.all([
      registerByApi(server.url, 'Alice Liddell'),
      registerByApi(server.url, 'Bob Dylan'),
    ])
    chatId = (await alice.rest.chats.open(bob.id)).chat.id
    await sendMany(bob.rest, chatId, ['Send me the holiday pictures?'])
    alicePage = await newPage()
    bobPage = await newPage()
    await signIn(alicePage, alice)
    await signIn(bobPage, bob)
    await alicePage.goto(`/chats/${chatId}`)
    await bobPage.goto(`/chats/${chatId}`)
    await messages(alicePage).getByText('Send me the holiday pictures?').waitFor()
    await messages(bobPage).getByText('Send me the holiday pictures?').waitFor()
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('Alice sends a photo with a caption; Bob sees it and opens it in the viewer, Esc closes', async () => {
    // A 640×400 picture: a gradient, so the placeholder and the thumbnail have something to show.
    const width = 640
    const height = 400
    const pixels = Buffer.alloc(width * height * 3)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * 3
        pixels[at] = Math.round((x / width) * 255)
        pixels[at + 1] = Math.round((y / height) * 200)
        pixels[at + 2] = 160
      }
    }
    const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer()
    await attach(alicePage, [{ name: 'beach.png', mimeType: 'image/png', buffer: png }])
    const tray = alicePage.locator('.attach-tray')
    await tray.getByText('beach.png', { exact: true }).waitFor()
    await alicePage.getByRole('textbox', { name: 'Caption' }).fill('Sunset at the beach')
    await alicePage.getByRole('button', { name: 'Send 1 file' }).click()
    await tray.waitFor({ state: 'detached' })

    const photo = messages(bobPage).getByRole('button', { name: 'Open photo' })
    await photo.waitFor()
    await messages(bobPage).locator('.bubble-text', { hasText: 'Sunset at the beach' }).waitFor()
    const image = photo.locator('img')
    await bobPage.waitForFunction(
      (element) => element instanceof HTMLImageElement && element.complete && element.naturalWidth > 0,
      await image.elementHandle(),
    )
    // The box has the photo's proportions before and after it loads.
    const box = await photo.boundingBox()
    expect(box && Math.round((box.width / box.height) * 10) / 10).toBe(1.6)

    await photo.click()
    const viewer = bobPage.getByRole('dialog', { name: 'Photo viewer' })
    await viewer.waitFor()
    const large = viewer.locator('img')
    await bobPage.waitForFunction(
      (element) => element instanceof HTMLImageElement && element.complete && element.naturalWidth === 640,
      await large.elementHandle(),
    )
    await bobPage.keyboard.press('Escape')
    await viewer.waitFor({ state: 'hidden' })
    // The focus is back on the photo that opened the viewer.
    await expect(bobPage.evaluate(() => document.activeElement?.getAttribute('aria-label'))).resolves.toBe(
      'Open photo',
    )
    // Alice's own copy is the server's message, not the pending one.
    await messages(alicePage).getByRole('button', { name: 'Open photo' }).waitFor()
    await alicePage.locator('.bubble.upload').waitFor({ state: 'detached' })
  })

  it('a PDF shows as a card with its file name and size, linking to the download', async () => {
    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    )
    await attach(alicePage, [{ name: 'itinerary.pdf', mimeType: 'application/pdf', buffer: pdf }])
    await alicePage.getByRole('button', { name: 'Send 1 file' }).click()
    const card = messages(bobPage).getByRole('link', { name: /^Download itinerary\.pdf/ })
    await card.waitFor()
    await expect(card.textContent()).resolves.toContain(`${pdf.length} B`)
    await expect(card.getAttribute('href')).resolves.toMatch(/^\/api\/media\/\d+$/)
    // The chat list says what it is.
    await bobPage.getByRole('navigation', { name: 'Chats' }).getByText('📄 Document').first().waitFor()
  })

  it('a file the server refuses shows its coded error, with retry and remove', async () => {
    // An SVG is never accepted (it could run script): 415 before anything is stored.
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    await attach(alicePage, [{ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: svg }])
    await alicePage.getByRole('button', { name: 'Send 1 file' }).click()
    const failed = alicePage.locator('.bubble.upload.failed')
    await failed
      .getByRole('alert')
      .getByText(/This type of file cannot be sent\. \(415 unsupported_media_type\)/)
      .waitFor()
    await failed.getByRole('button', { name: 'Retry' }).waitFor()
    await failed.getByRole('button', { name: 'Remove' }).click()
    await failed.waitFor({ state: 'detached' })
    // Nothing reached Bob.
    await expect(messages(bobPage).getByText('logo.svg').count()).resolves.toBe(0)
  })

  it('the conversation with media looks right, light and dark, desktop and phone (screenshots, axe)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true })
    const found: string[] = []
    const page = await bobPage.context().newPage()
    watchPage(page, problems)
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [device, width, height] of [
        ['desktop', 1280, 800],
        ['phone', 375, 812],
      ] as const) {
        await page.setViewportSize({ width, height })
        await page.emulateMedia({ colorScheme })
        await page.goto(`/chats/${chatId}`)
        const image = messages(page).getByRole('button', { name: 'Open photo' }).locator('img')
        await image.waitFor()
        await page.waitForFunction(
          (element) => element instanceof HTMLImageElement && element.complete && element.naturalWidth > 0,
          await image.elementHandle(),
        )
        await messages(page)
          .getByRole('link', { name: /^Download itinerary\.pdf/ })
          .waitFor()
        // Rows are placed from their measured heights: no bubble may overlap the next one.
        await page.waitForFunction(() => {
          const boxes = [...document.querySelectorAll('.message-list .bubble')].map((element) =>
            element.getBoundingClientRect(),
          )
          return boxes.every((box, index) => index === 0 || (boxes[index - 1]?.bottom ?? 0) <= box.top)
        })
        for (const violation of await seriousViolations(page))
          found.push(`${colorScheme} ${device}: ${violation}`)
        await page.screenshot({
          path: path.join(SCREENSHOTS, `conversation-media-${colorScheme}-${device}.png`),
        })
      }
    }
    await page.close()
    expect(found).toEqual([])
  })

  it("a profile photo chosen in settings shows in Bob's chat list", async () => {
    const png = await sharp({
      create: { width: 200, height: 200, channels: 3, background: { r: 200, g: 80, b: 40 } },
    })
      .png()
      .toBuffer()
    await alicePage.getByRole('button', { name: 'Settings' }).click()
    const settings = alicePage.getByRole('dialog', { name: 'Settings' })
    await settings
      .getByLabel('Choose profile photo')
      .setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png })
    await settings.getByRole('button', { name: 'Remove photo' }).waitFor()
    await alicePage.keyboard.press('Escape')
    await bobPage.reload()
    const row = bobPage
      .getByRole('navigation', { name: 'Chats' })
      .getByRole('listitem')
      .filter({ hasText: alice.name })
    const avatar = row.locator('img.avatar')
    await avatar.waitFor()
    await bobPage.waitForFunction(
      (element) => element instanceof HTMLImageElement && element.complete && element.naturalWidth > 0,
      await avatar.elementHandle(),
    )
    await expect(avatar.getAttribute('src')).resolves.toMatch(/^\/api\/media\/\d+\/avatar_300$/)
  })

  it('no page error, console error (CSP refusal) or dialog on either side', () => {
    // The browser logs the refused upload's answer; that one was asked for (the SVG above).
    const refused =
      'console error: Failed to load resource: the server responded with a status of 415 (Unsupported Media Type)'
    expect(problems.filter((problem) => problem !== refused)).toEqual([])
    expect(problems.filter((problem) => problem === refused)).toHaveLength(1)
  })
})
