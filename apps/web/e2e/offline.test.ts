import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bubbleWith,
  ensureBuilt,
  launchBrowser,
  messageList,
  openChatWith,
  type RunningServer,
  registerThroughUi,
  SKIP_BROWSER,
  sendText,
  startServer,
  testUser,
  watchPage,
} from './harness.ts'

/**
 * Connection resilience: messages typed while offline wait in the outbox, survive a reload, and arrive
 * exactly once on both sides when the connection is back. Alice's WebSocket runs through a Playwright
 * route, so the test decides when the socket is cut while the page itself can still be reloaded.
 */
describe.skipIf(SKIP_BROWSER)('web client offline and back (sqlite)', { timeout: 120_000 }, () => {
  let server: RunningServer
  let browser: Browser
  let aliceContext: BrowserContext
  let bobContext: BrowserContext
  let alicePage: Page
  let bobPage: Page
  const problems: string[] = []
  const alice = testUser('Alice', 'Offline')
  const bob = testUser('Bob', 'Online')
  /** While true, every socket Alice's page opens is closed at once, as a dead network would. */
  let socketsBlocked = false
  /** Alice's open sockets: the page's side and the server's side of each. */
  const liveSockets = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>()

  async function page(context: BrowserContext) {
    context.setDefaultTimeout(20_000)
    const created = await context.newPage()
    watchPage(created, problems)
    return created
  }

  beforeAll(async () => {
    ensureBuilt()
    server = await startServer()
    browser = await launchBrowser()
    aliceContext = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } })
    bobContext = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } })
    await aliceContext.routeWebSocket(/\/ws$/, (ws) => {
      if (socketsBlocked) {
        void ws.close({ code: 4000, reason: 'network down (test)' })
        return
      }
      liveSockets.add({ page: ws, server: ws.connectToServer() })
    })
    alicePage = await page(aliceContext)
    bobPage = await page(bobContext)
  })

  afterAll(async () => {
    await aliceContext?.close().catch(() => {})
    await bobContext?.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  const count = (target: Page, text: string) =>
    messageList(target).getByRole('listitem').filter({ hasText: text }).count()

  it('keeps messages typed offline across a reload and delivers each exactly once', async () => {
    await registerThroughUi(alicePage, alice)
    await registerThroughUi(bobPage, bob)
    const chatPath = await openChatWith(alicePage, bob)
    await sendText(alicePage, 'Before the tunnel')
    await bubbleWith(alicePage, 'Before the tunnel').getByRole('img', { name: 'Delivered' }).waitFor()
    await bobPage.goto(chatPath)
    await bubbleWith(bobPage, 'Before the tunnel').waitFor()

    // The network goes: the browser says so, and the open socket dies with it.
    socketsBlocked = true
    await aliceContext.setOffline(true)
    for (const ws of liveSockets) {
      await ws.page.close({ code: 4000, reason: 'network down (test)' })
      await ws.server.close({ code: 1001, reason: 'network down (test)' })
    }
    liveSockets.clear()
    await alicePage.getByRole('status').filter({ hasText: 'You are offline' }).waitFor()
    // Bob sees Alice go: "last seen today …" in place of "online".
    const bobsHeader = bobPage.locator('.conversation > .bar')
    await bobsHeader.getByText(/^last seen /).waitFor()

    await sendText(alicePage, 'Typed in the tunnel, one')
    await sendText(alicePage, 'Typed in the tunnel, two')
    await bubbleWith(alicePage, 'Typed in the tunnel, one').getByRole('img', { name: 'Sending' }).waitFor()
    await bubbleWith(alicePage, 'Typed in the tunnel, two').getByRole('img', { name: 'Sending' }).waitFor()
    await alicePage.getByRole('status').filter({ hasText: '2 messages waiting to send' }).waitFor()

    // The page can load again but the socket still cannot connect: after the reload both messages
    // are still there, still waiting, once each.
    await aliceContext.setOffline(false)
    await alicePage.reload()
    await alicePage.getByRole('heading', { name: bob.name }).waitFor()
    await bubbleWith(alicePage, 'Typed in the tunnel, one').getByRole('img', { name: 'Sending' }).waitFor()
    await bubbleWith(alicePage, 'Typed in the tunnel, two').getByRole('img', { name: 'Sending' }).waitFor()
    await alicePage.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor()
    expect(await count(alicePage, 'Typed in the tunnel, one')).toBe(1)
    expect(await count(bobPage, 'Typed in the tunnel')).toBe(0)

    // Back: the outbox sends them, Bob gets each once, Alice's copies turn into sent messages.
    socketsBlocked = false
    await bubbleWith(bobPage, 'Typed in the tunnel, one').waitFor({ timeout: 30_000 })
    await bubbleWith(bobPage, 'Typed in the tunnel, two').waitFor()
    await bubbleWith(alicePage, 'Typed in the tunnel, two').getByRole('img', { name: 'Read' }).waitFor()
    await bobsHeader.getByText('online', { exact: true }).waitFor()
    await alicePage
      .getByRole('status')
      .filter({ hasText: /Reconnecting|offline/ })
      .waitFor({ state: 'detached' })

    // Once each on both sides, and still once each after both reload (nothing left to resend).
    for (const target of [alicePage, bobPage]) {
      expect(await count(target, 'Typed in the tunnel, one')).toBe(1)
      expect(await count(target, 'Typed in the tunnel, two')).toBe(1)
    }
    await alicePage.reload()
    await bobPage.reload()
    for (const target of [alicePage, bobPage]) {
      await bubbleWith(target, 'Typed in the tunnel, two').waitFor()
      expect(await count(target, 'Typed in the tunnel, one')).toBe(1)
      expect(await count(target, 'Typed in the tunnel, two')).toBe(1)
      expect(await count(target, 'Before the tunnel')).toBe(1)
    }
    expect(
      await alicePage.evaluate(() =>
        Object.keys(localStorage).filter((key) => key.startsWith('parley.outbox')),
      ),
    ).toEqual([])
  })

  it('raised no page errors or dialogs (requests refused by the offline network aside)', () => {
    // Offline, the browser logs each refused request as a console error: that is the network, not the app.
    const offline = /ERR_INTERNET_DISCONNECTED|net::ERR_|WebSocket connection/
    expect(problems.filter((problem) => !offline.test(problem))).toEqual([])
  })
})
