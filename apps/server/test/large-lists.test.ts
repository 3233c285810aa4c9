import type { Update } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, syncAll, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const ADMIN_TOKEN = 'admin-token-for-large-lists-0123456789'
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

/**
 * Lists a caller sizes (participants, user ids) are capped by the documented limits, and no query's
 * bound variables grow with a list: SQLite refuses more than 32,766 per statement and PostgreSQL more
 * than 65,535, so an unchunked query over a big group answered 500.
 */
describe.each(MODES)('large lists (%s)', (mode) => {
  describe('longer than the group size limit', () => {
    let server: TestServer
    let ada: TestUser
    beforeAll(async () => {
      server = await startServer(mode, NO_RATE_LIMITS)
      ada = await createUser(server)
    })
    afterAll(async () => {
      await server?.close()
    })

    it.each([1025, 8191, 10_000])(
      'POST /api/groups with %i distinct participants is a coded 400, never a 500',
      async (count) => {
        const response = await ada.client.raw('POST', '/api/groups', {
          body: { name: 'huge', participants: range(1_000_000, count) },
        })
        expect({ status: response.status, code: codeOf(response) }).toEqual({
          status: 400,
          code: 'validation_error',
        })
      },
    )

    it('POST /api/groups/:id/members with 8,191 user ids is a coded 400, never a 500', async () => {
      const bob = await createUser(server)
      const { group } = await ada.client.groups.create({ name: 'small', participants: [bob.id] })
      for (const count of [1025, 8191, 10_001]) {
        const response = await ada.client.raw('POST', `/api/groups/${group.id}/members`, {
          body: { user_ids: range(1_000_000, count) },
        })
        expect({ count, status: response.status, code: codeOf(response) }).toEqual({
          count,
          status: 400,
          code: 'validation_error',
        })
      }
      // Nothing changed.
      expect((await ada.client.groups.get(group.id)).group.participants_count).toBe(2)
    })
  })

  describe('a group of exactly the configured size', () => {
    // Big enough that one unchunked multi-row insert of memberships (12 columns a row) passes both
    // databases' limits. Slow with Redis (tens of seconds): `chat:created` carries the member list to
    // every member, so creating a group moves members² bytes through the bus.
    const SIZE = 6000
    let server: TestServer
    let users: Array<{ id: number; access_token: string }>
    beforeAll(async () => {
      server = await startServer(mode, {
        ...NO_RATE_LIMITS,
        PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
        PARLEY_MAX_GROUP_SIZE: String(SIZE),
      })
      users = []
      for (let i = 0; i < SIZE / 1000; i++) {
        const seeded = await server.client().admin.seedUsers(ADMIN_TOKEN, { count: 1000 })
        users.push(...seeded.users)
      }
    }, 300_000)
    afterAll(async () => {
      await server?.close()
    })

    const clientOf = (user: { access_token: string }) => server.client(user.access_token)
    const newMessage = (updates: Update[], chatId: number, content: string) =>
      updates.find(
        (update) =>
          update.type === 'message:new' &&
          update.data.chat_id === chatId &&
          update.data.message.content === content,
      )

    it('is created in one request, refuses one more member, and delivers a message to everyone', async () => {
      const [creator, ...others] = users as [
        { id: number; access_token: string },
        ...Array<{ id: number; access_token: string }>,
      ]
      const owner = clientOf(creator)
      const created = await owner.raw('POST', '/api/groups', {
        body: { name: 'everyone', participants: others.map((user) => user.id) },
      })
      expect(created.status).toBe(201)
      const { group } = created.body as { group: { id: number; participants_count: number } }
      expect(group.participants_count).toBe(SIZE)

      const outsider = await createUser(server)
      const more = await owner.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: [outsider.id] },
      })
      expect({ status: more.status, code: codeOf(more) }).toEqual({ status: 400, code: 'validation_error' })

      const sent = await owner.messages.send(group.id, text('hello, all six thousand'))
      expect(sent.message.seq).toBeGreaterThan(0)
      for (const member of [others[0], others[others.length - 1]]) {
        if (!member) throw new Error('no member')
        const updates = await syncAll(clientOf(member))
        expect(newMessage(updates, group.id, 'hello, all six thousand')).toBeDefined()
      }
    }, 300_000)

    it('fills a group to exactly the limit by adding members in one request', async () => {
      const [creator, ...others] = users as [
        { id: number; access_token: string },
        ...Array<{ id: number; access_token: string }>,
      ]
      const owner = clientOf(creator)
      const { group } = await owner.groups.create({ name: 'grown', participants: [] })
      const added = await owner.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: others.map((user) => user.id) },
      })
      expect(added.status).toBe(200)
      expect((added.body as { added_members: unknown[] }).added_members).toHaveLength(SIZE - 1)
      expect((await owner.groups.get(group.id)).group.participants_count).toBe(SIZE)

      const last = others[others.length - 1]
      if (!last) throw new Error('no member')
      await clientOf(last).messages.send(group.id, text('the newest member speaks'))
      const updates = await syncAll(owner)
      expect(newMessage(updates, group.id, 'the newest member speaks')).toBeDefined()
    }, 300_000)
  })
})
