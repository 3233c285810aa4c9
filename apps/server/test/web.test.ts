import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEB_DIST } from '../src/http/routes/web.routes.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

// `npm install` builds apps/web/dist (root postinstall); CI runs this after `npm ci`.
const built = fs.existsSync(path.join(WEB_DIST, 'index.html'))
const html = { accept: 'text/html,application/xhtml+xml' }

describe.each(MODES)('the web app (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    if (!built) throw new Error(`apps/web is not built (${WEB_DIST}): run npm run build`)
    server = await startServer(mode)
  })
  afterAll(() => server?.close())

  it('is served at / with a CSP that allows scripts from this origin only', async () => {
    const response = await fetch(`${server.url}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'self';/)
    expect(csp).not.toContain('upgrade-insecure-requests')
    // Photos, video and audio from /api/media (redirected here), previews of picked files, placeholders.
    expect(csp).toContain("img-src 'self' blob: data:")
    expect(csp).toContain("media-src 'self' blob: data:")
    expect(await response.text()).toContain('<div id="root">')
  })

  it('serves its hashed assets with a long cache life', async () => {
    const script = fs.readdirSync(path.join(WEB_DIST, 'assets')).find((name) => name.endsWith('.js'))
    const response = await fetch(`${server.url}/assets/${script}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toContain('immutable')
    expect((await response.text()).length).toBeGreaterThan(0)
  })

  it('answers client routes with the app, and server paths with their JSON 404', async () => {
    const page = await fetch(`${server.url}/chats/12`, { headers: html })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<div id="root">')
    for (const url of ['/api/nothing', '/assets/missing.js', '/health/nothing', '/docs/nothing']) {
      const response = await fetch(`${server.url}${url}`, { headers: html })
      expect(response.status, url).toBe(404)
      expect(await response.json()).toMatchObject({ success: false, error: { code: 'not_found' } })
    }
    const post = await fetch(`${server.url}/chats/12`, { method: 'POST', headers: html })
    expect(post.status).toBe(404)
    expect(await post.json()).toMatchObject({ error: { code: 'not_found' } })
    const json = await fetch(`${server.url}/chats/12`, { headers: { accept: 'application/json' } })
    expect(json.status).toBe(404)
    expect(await json.json()).toMatchObject({ error: { code: 'not_found' } })
  })

  it('keeps inline scripts for Swagger UI at /docs only', async () => {
    const response = await fetch(`${server.url}/docs`)
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self' 'unsafe-inline'")
    expect(await response.text()).toMatch(/swagger-ui/i)
  })
})
