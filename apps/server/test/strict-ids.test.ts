import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Ids and numbers in paths and query strings are plain decimal integers. Each spelling below would
 * name the same number to `Number()` (Ajv's coercion); all are refused with `400 validation_error`,
 * like any other malformed id (`abc`, `0`, `-1`), so no resource answers to a second name.
 */
const spellings = (id: number): string[] => [
  `0x${id.toString(16)}`,
  `0o${id.toString(8)}`,
  `0b${id.toString(2)}`,
  `${id}e0`,
  `${id}.0`,
  `+${id}`,
  `0${id}`,
  `%20${id}`,
  `${id}%20`,
  `${id}%0A`,
  `%09${id}`,
  `${id}_`,
  `${id}n`,
  'Infinity',
  'NaN',
  '0',
  '-1',
  '-0',
  '9007199254740992',
  '99999999999999999999',
]

describe.each(MODES)('strict integer ids in paths and queries (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let bob: TestUser
  let chatId: number
  let groupId: number
  let messageId: number
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    ;[ada, bob] = await Promise.all([createUser(server), createUser(server)])
    chatId = (await ada.client.chats.open(bob.id)).chat.id
    messageId = (await ada.client.messages.send(chatId, text('hello'))).message.id
    groupId = (await ada.client.groups.create({ name: 'g', participants: [bob.id] })).group.id
  })
  afterAll(async () => {
    await server?.close()
  })

  const routes: Array<[string, (id: string) => string, () => number]> = [
    ['GET /api/messages/:id/edits', (id) => `/api/messages/${id}/edits`, () => messageId],
    ['GET /api/messages/:id/receipts', (id) => `/api/messages/${id}/receipts`, () => messageId],
    ['GET /api/chats/:id', (id) => `/api/chats/${id}`, () => chatId],
    ['GET /api/chats/:id/messages', (id) => `/api/chats/${id}/messages`, () => chatId],
    ['GET /api/groups/:id', (id) => `/api/groups/${id}`, () => groupId],
    ['GET /api/users/:id', (id) => `/api/users/${id}`, () => bob.id],
  ]

  it.each(routes)('%s answers the plain id and refuses every other spelling of it', async (_, path, id) => {
    expect((await ada.client.raw('GET', path(String(id())))).status).toBe(200)
    for (const spelling of spellings(id())) {
      const response = await ada.client.raw('GET', path(spelling))
      expect({ spelling, status: response.status, code: codeOf(response) }).toEqual({
        spelling,
        status: 400,
        code: 'validation_error',
      })
    }
  })

  it('refuses other spellings of integers in query strings (ids, limits, cursors)', async () => {
    const queries: Array<[string, string]> = [
      [`/api/chats/${chatId}/messages`, 'before_message_id'],
      [`/api/chats/${chatId}/messages`, 'limit'],
      ['/api/chats', 'limit'],
      ['/api/search?q=hello', 'chat_id'],
      ['/api/sync?since=0', 'limit'],
    ]
    for (const [path, field] of queries) {
      const value = field === 'chat_id' ? chatId : field === 'before_message_id' ? messageId : 10
      const join = path.includes('?') ? '&' : '?'
      expect((await ada.client.raw('GET', `${path}${join}${field}=${value}`)).status).toBe(200)
      for (const spelling of [
        `0x${value.toString(16)}`,
        `${value}e0`,
        `${value}.0`,
        `+${value}`,
        `0${value}`,
      ]) {
        const response = await ada.client.raw('GET', `${path}${join}${field}=${spelling}`)
        expect({ field, spelling, status: response.status, code: codeOf(response) }).toEqual({
          field,
          spelling,
          status: 400,
          code: 'validation_error',
        })
      }
    }
    for (const since of ['0x0', '1e0', '-0', '00', '9007199254740992']) {
      const response = await ada.client.raw('GET', `/api/sync?since=${since}`)
      expect({ since, status: response.status, code: codeOf(response) }).toEqual({
        since,
        status: 400,
        code: 'validation_error',
      })
    }
  })
})
