import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { App } from '../types.ts'

/** The built web client (apps/web, `npm run build -w @parley/web`; `npm install` builds it). */
export const WEB_DIST = fileURLToPath(new URL('../../../../web/dist/', import.meta.url))

/** Paths that belong to the server: never answered with the app, so their own 404s stay JSON. */
const SERVER_PATHS =
  /^\/(?:api|ws|app|docs|health|metrics|broadcasting|media|openapi\.json|asyncapi\.json|assets)(?:[/?.]|$)/

export interface WebApp {
  /** index.html, or null when the app was not built. */
  indexHtml: Buffer | null
  dist: string
  /**
   * The SPA fallback, tried by the not-found handler: a browser navigating to a client route
   * (`/chats/12`) gets index.html. Answers null for server paths, non-GET methods and requests that
   * do not accept HTML, which keep the documented JSON 404.
   */
  clientPage(request: FastifyRequest, reply: FastifyReply): FastifyReply | null
}

export function loadWebApp(dist = WEB_DIST): WebApp {
  const indexPath = path.join(dist, 'index.html')
  const indexHtml = fs.existsSync(indexPath) ? fs.readFileSync(indexPath) : null
  return {
    indexHtml,
    dist,
    clientPage(request, reply) {
      if (!indexHtml) return null
      if (request.method !== 'GET' && request.method !== 'HEAD') return null
      const pathname = request.url.split('?')[0] ?? ''
      if (SERVER_PATHS.test(pathname)) return null
      if (!(request.headers.accept ?? '').includes('text/html')) return null
      return sendIndex(reply, indexHtml)
    },
  }
}

function sendIndex(reply: FastifyReply, html: Buffer): FastifyReply {
  return reply.code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html)
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Parley is running, but the web app is not built</h1>
<p>Run <code>npm install</code> (it builds the app) or <code>npm run build -w @parley/web</code>, then
restart the server. The API is under <code>/api</code>; see <a href="/docs">the API reference</a>.</p>
</main></body></html>`

/**
 * Serves apps/web/dist: hashed files under /assets cached for a year, index.html revalidated on every
 * load. Files are listed once at start (`wildcard: false`), so a path that is not a file falls through
 * to the not-found handler and its SPA fallback. Without a build, / says how to make one (503).
 */
export async function webRoutes(app: App, web: WebApp) {
  if (!web.indexHtml) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT),
    )
    return
  }
  const html = web.indexHtml
  await app.register(fastifyStatic, {
    root: web.dist,
    prefix: '/',
    wildcard: false,
    index: false,
    schemaHide: true,
    setHeaders: (reply, filePath) => {
      const immutable = filePath.startsWith(path.join(web.dist, 'assets') + path.sep)
      void reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    },
  })
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply, html))
}
