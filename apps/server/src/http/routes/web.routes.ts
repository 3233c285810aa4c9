import type { App } from '../types.ts'

// The React client (apps/web) replaces this page when it lands; until then / says what is running.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Parley is running</h1>
<p>The API is served under <code>/api</code>; see <a href="/docs">the API reference</a>
(<a href="/openapi.json">OpenAPI JSON</a>) and <a href="/health">health</a>.</p>
<p>The web app is not built yet.</p>
</body></html>`

export function webRoutes(app: App) {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html').send(PAGE))
}
