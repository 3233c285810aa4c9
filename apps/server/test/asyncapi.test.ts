import fs from 'node:fs'
import { CLOSE_CODES, EPHEMERAL_EVENT_TYPES, SOCKET_REQUEST_OPS } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ASYNCAPI_FILE, renderAsyncApi } from '../src/scripts/asyncapi-document.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const WEBSOCKET_MD = new URL('../../../docs/api/websocket.md', import.meta.url)

describe('docs/api/asyncapi.json and websocket.md', () => {
  it('asyncapi.json is what the server generates from the protocol schemas', () => {
    const committed = fs.existsSync(ASYNCAPI_FILE) ? fs.readFileSync(ASYNCAPI_FILE, 'utf8') : ''
    expect(committed, 'docs/api/asyncapi.json is out of date: run npm run asyncapi').toBe(renderAsyncApi())
  })

  it('websocket.md names every request op, event type and close code of the protocol', () => {
    const text = fs.readFileSync(WEBSOCKET_MD, 'utf8')
    for (const op of [...SOCKET_REQUEST_OPS, 'hello', 'ack', 'ping', 'typing:start', 'typing:stop']) {
      expect(text, `op ${op}`).toContain(`\`${op}\``)
    }
    for (const type of EPHEMERAL_EVENT_TYPES) expect(text, `event ${type}`).toContain(`\`${type}\``)
    for (const { code, reason } of Object.values(CLOSE_CODES)) {
      expect(text, `close ${code}`).toMatch(new RegExp(`\\| ${code} +\\| \`${reason}\``))
    }
  })
})

describe.each(MODES)('GET /asyncapi.json (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(() => server?.close())

  it('serves the committed document', async () => {
    const response = await fetch(`${server.url}/asyncapi.json`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(JSON.parse(renderAsyncApi()))
  })
})
