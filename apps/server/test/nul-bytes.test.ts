import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, fullHistory, sendRaw, text } from './helpers/messaging.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/**
 * A NUL byte is refused in every string of every body, query and path, before any schema or query:
 * PostgreSQL cannot store one (it answered 500 before), and SQLite would store what PostgreSQL refuses.
 */
describe.each(MODES)('NUL bytes (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let bob: TestUser
  let chatId: number

  beforeAll(async () => {
    server = await startServer(mode)
    ada = await createUser(server)
    bob = await createUser(server)
    chatId = (await ada.client.chats.open(bob.id)).chat.id
  })
  afterAll(async () => server.close())

  it('refuses them in query strings with validation_error naming the field', async () => {
    const response = await ada.client.raw('GET', '/api/users/search', { query: { q: 'a\u0000b' } })
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({
      success: false,
      error: { code: 'validation_error', details: [{ field: 'q' }] },
    })
  })

  it('refuses them in message text and client_msg_id, and stores nothing', async () => {
    for (const body of [text('a\u0000b'), text('fine', { client_msg_id: 'id-\u0000' })]) {
      const response = await sendRaw(ada.client, chatId, body)
      expect(response.status).toBe(400)
      expect(codeOf(response)).toBe('validation_error')
    }
    expect(await fullHistory(bob.client, chatId)).toEqual([])
  })

  it('refuses them in object keys and in paths', async () => {
    const keyed = await sendRaw(ada.client, chatId, { ...text('hi'), 'x\u0000': 1 })
    expect(keyed.status).toBe(400)
    expect(codeOf(keyed)).toBe('validation_error')
    const path = await ada.client.raw('DELETE', '/api/messages/1/reactions/a%00b')
    expect(path.status).toBeLessThan(500)
    expect(codeOf(path)).toMatch(/^(validation_error|not_found)$/)
  })

  it('looks through bodies and frames nested deeper than the call stack without a 500', async () => {
    const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
    const response = await ada.client.raw('PUT', '/api/user/profile', { body: `{"name":${deep(100_000)}}` })
    expect(response.status).toBe(400)
    expect(codeOf(response)).toBe('validation_error')
    const socket = await RawSocket.open(server.url, ada.auth.tokens.access_token)
    try {
      socket.send(`{"op":"message:send","id":"deep","chat_id":${chatId},"x":${deep(30_000)}}`)
      const reply = await socket.next((frame) => frame.op === 'reply' && frame.id === 'deep')
      expect(reply).toMatchObject({ ok: false, error: { code: 'validation_error' } })
    } finally {
      socket.ws.close()
    }
  })

  it('refuses them in socket request frames with a validation_error reply, and stores nothing', async () => {
    const socket = await RawSocket.open(server.url, ada.auth.tokens.access_token)
    try {
      socket.send({ op: 'message:send', id: 'r1', chat_id: chatId, ...text('x\u0000y') })
      socket.send({ op: 'message:send', id: 'r2', chat_id: chatId, ...text('ok'), ['k\u0000']: 1 })
      for (const id of ['r1', 'r2']) {
        const reply = await socket.next((frame) => frame.op === 'reply' && frame.id === id)
        expect(reply).toMatchObject({ ok: false, error: { code: 'validation_error' } })
      }
      expect(await fullHistory(bob.client, chatId)).toEqual([])
    } finally {
      socket.ws.close()
    }
  })
})
