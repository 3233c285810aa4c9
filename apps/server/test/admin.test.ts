import type { SeededUser } from '@parley/protocol'
import { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeOf, text } from './helpers/messaging.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef'
const SEED = '/api/admin/seed/users'
const USERNAME = /^[a-z0-9_]+_[0-9a-f]{10}$/

describe.each(MODES)('admin seeding (%s)', (mode) => {
  describe('without PARLEY_ADMIN_TOKEN', () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startServer(mode)
    })
    afterAll(() => server.close())

    it('answers not_found, as for a route that does not exist, whatever the token and body', async () => {
      const seeded = await server.client().raw('POST', SEED, { body: { count: 1 }, token: ADMIN_TOKEN })
      const unknown = await server.client().raw('POST', '/api/admin/nothing', { body: { count: 1 } })
      const invalid = await server.client().raw('POST', SEED, { body: { count: 0 } })
      for (const response of [seeded, unknown, invalid]) expect(response.status).toBe(404)
      expect(seeded.body).toEqual({
        success: false,
        error: { code: 'not_found', message: `Route POST ${SEED} not found` },
      })
      expect(codeOf(invalid)).toBe('not_found')
    })
  })

  describe('with PARLEY_ADMIN_TOKEN', () => {
    let server: TestServer
    const admin = () => server.client()
    beforeAll(async () => {
      server = await startServer(mode, { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN })
    })
    afterAll(() => server.close())

    it.each([
      ['no token', undefined],
      ['a wrong token', `${ADMIN_TOKEN}x`],
      ['a user access token', 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl'],
    ])('refuses %s with unauthorized, before looking at the body', async (_, token) => {
      const response = await admin().raw('POST', SEED, { body: { count: 0 }, token: token ?? null })
      expect(response.status).toBe(401)
      expect(codeOf(response)).toBe('unauthorized')
    })

    it('refuses a user’s own access token', async () => {
      const { users } = await admin().admin.seedUsers(ADMIN_TOKEN, { count: 1 })
      const response = await admin().raw('POST', SEED, { body: { count: 1 }, token: users[0]?.access_token })
      expect(response.status).toBe(401)
    })

    it.each([
      [{ count: 0 }, 'count'],
      [{ count: 1001 }, 'count'],
      [{ count: 1.5 }, 'count'],
      [{}, 'count'],
      [{ count: 1, name_prefix: 'Bench' }, 'name_prefix'],
      [{ count: 1, name_prefix: 'bench-1' }, 'name_prefix'],
      [{ count: 1, name_prefix: '' }, 'name_prefix'],
      [{ count: 1, name_prefix: 'a'.repeat(21) }, 'name_prefix'],
      [{ count: 1, access_token_ttl_seconds: 59 }, 'access_token_ttl_seconds'],
      [{ count: 1, access_token_ttl_seconds: 86_401 }, 'access_token_ttl_seconds'],
      [{ count: 1, password: 'x' }, 'password'],
    ])('refuses %j as a validation error on %s', async (body, field) => {
      const response = await admin().raw('POST', SEED, { body, token: ADMIN_TOKEN })
      expect(response.status).toBe(400)
      expect(codeOf(response)).toBe('validation_error')
      expect(JSON.stringify(response.body)).toContain(field)
    })

    it('seeds users whose tokens work like a sign-in’s: REST, refresh, /ws, chatting', async () => {
      const response = await admin().raw('POST', SEED, {
        body: { count: 3, name_prefix: 'load', device_name: 'bench worker' },
        token: ADMIN_TOKEN,
      })
      expect(response.status).toBe(201)
      const { users } = response.body as { success: true; users: SeededUser[] }
      expect(users).toHaveLength(3)
      expect(users.map((user) => user.display_name)).toEqual(['load 1', 'load 2', 'load 3'])
      for (const user of users) expect(user.username).toMatch(/^load_[0-9a-f]{10}$/)
      expect(new Set(users.map((user) => user.id)).size).toBe(3)

      const [ada, bob] = users.map(
        (user) => new RestClient({ baseUrl: server.url, accessToken: user.access_token }),
      )
      const [adaSeed, bobSeed, cyd] = users
      if (!ada || !bob || !adaSeed || !bobSeed || !cyd) throw new Error('three users expected')

      for (const seeded of users) {
        const { user } = await server.client(seeded.access_token).users.profile()
        expect(user).toMatchObject({
          id: seeded.id,
          username: seeded.username,
          name: seeded.display_name,
          phone_number: null,
        })
      }
      const { sessions } = await ada.auth.sessions()
      expect(sessions).toEqual([
        expect.objectContaining({ id: adaSeed.session_id, device_name: 'bench worker', current: true }),
      ])

      const refreshed = await server.client().auth.refresh(cyd.refresh_token)
      expect((await server.client(refreshed.access_token).users.profile()).user.id).toBe(cyd.id)

      const socket = await RawSocket.open(server.url, bobSeed.access_token)
      try {
        expect(socket.frames[0]).toMatchObject({ op: 'ready', session_id: bobSeed.session_id })
        const { chat } = await ada.chats.open(bobSeed.id)
        const { message } = await ada.messages.send(chat.id, text('hello from a seeded user'))
        const live = await socket.next(
          (frame) => frame.op === 'update' && JSON.stringify(frame).includes('hello from a seeded user'),
        )
        expect(live).toBeDefined()
        const { messages } = await bob.messages.history(chat.id)
        expect(messages.map((m) => m.id)).toContain(message.id)
      } finally {
        socket.close()
      }
    })

    it('gives distinct usernames when the same prefix is seeded again', async () => {
      const first = await admin().admin.seedUsers(ADMIN_TOKEN, { count: 50 })
      const second = await admin().admin.seedUsers(ADMIN_TOKEN, { count: 50 })
      const usernames = [...first.users, ...second.users].map((user) => user.username)
      for (const username of usernames) expect(username).toMatch(/^bench_[0-9a-f]{10}$/)
      expect(new Set(usernames).size).toBe(100)
      expect(new Set([...first.users, ...second.users].map((user) => user.id)).size).toBe(100)
    })

    it('seeds the most a request allows, with longer-lived access tokens on request', async () => {
      const { users } = await admin().admin.seedUsers(ADMIN_TOKEN, {
        count: 1000,
        name_prefix: 'a'.repeat(20),
        access_token_ttl_seconds: 86_400,
      })
      expect(users).toHaveLength(1000)
      for (const user of users) expect(user.username).toMatch(USERNAME)
      const last = users.at(-1)
      if (!last) throw new Error('no users')
      expect(last.username).toHaveLength(31)
      expect(Date.parse(last.expires_at) - server.clock.now()).toBeGreaterThan(86_399_000)
      server.clock.advance(3_600_000)
      expect((await server.client(last.access_token).users.profile()).user.id).toBe(last.id)
    })
  })
})
