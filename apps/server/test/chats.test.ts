import crypto from 'node:crypto'
import type { Chat, Update } from '@parley/protocol'
import type { RestClient } from '@parley/sdk'
import type { KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const MINUTE = 60_000

const say = (client: RestClient, chatId: number, content: string) =>
  client.messages.send(chatId, { message_type: 'text', content, client_msg_id: crypto.randomUUID() })

/** Every page of the list, following cursors. */
async function allPages(client: RestClient, query: { limit?: number; archived?: boolean } = {}) {
  const chats: Chat[] = []
  let cursor: string | undefined
  for (let page = 0; page < 100; page += 1) {
    const answer = await client.chats.list({ ...query, ...(cursor ? { cursor } : {}) })
    chats.push(...answer.chats)
    expect(answer.pagination.has_more).toBe(answer.pagination.next_cursor !== null)
    if (!answer.pagination.next_cursor) return chats
    cursor = answer.pagination.next_cursor
  }
  throw new Error('the chat list never ended')
}

async function updatesOf(client: RestClient): Promise<Update[]> {
  const page = await client.sync(0, { limit: 1000 })
  if (!('updates' in page)) throw new Error('resync_required')
  return page.updates
}

describe.each(MODES)('chat list and settings (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** A private chat between two users with one message from `from`, `minutes` after the last step. */
  async function chatWith(a: TestUser, b: TestUser, text: string) {
    server.clock.advance(MINUTE)
    const { chat } = await a.client.chats.open(b.id)
    await say(a.client, chat.id, text)
    return chat.id
  }

  describe('GET /api/chats', () => {
    it('lists chats by last activity, newest first, with the seed 002 shape', async () => {
      const ada = await createUser(server, { name: 'Ada' })
      const bob = await createUser(server, { name: 'Bob' })
      const cyd = await createUser(server, { name: 'Cyd' })
      const dan = await createUser(server, { name: 'Dan' })
      const withBob = await chatWith(ada, bob, 'hi bob')
      const withCyd = await chatWith(ada, cyd, 'hi cyd')
      const withDan = await chatWith(ada, dan, 'hi dan')

      const first = await ada.client.chats.list()
      expect(first.chats.map((chat) => chat.id)).toEqual([withDan, withCyd, withBob])
      expect(first.pagination).toEqual({ next_cursor: null, has_more: false })
      const dans = first.chats[0] as Chat
      expect(dans).toMatchObject({
        type: 'private',
        name: 'Dan',
        participant: { id: dan.id, name: 'Dan' },
        participants_count: 2,
        last_message: { content: 'hi dan', sender_id: ada.id },
        unread_count: 0,
        pinned: false,
        archived: false,
        muted_until: null,
      })

      // Bob answers: his chat moves to the top, and Ada has one unread message in it.
      server.clock.advance(MINUTE)
      await say(bob.client, withBob, 'hello ada')
      const second = await ada.client.chats.list()
      expect(second.chats.map((chat) => chat.id)).toEqual([withBob, withDan, withCyd])
      expect(second.chats[0]).toMatchObject({ last_message: { content: 'hello ada' }, unread_count: 1 })
      // Bob sees only his own chat with Ada.
      expect((await bob.client.chats.list()).chats.map((chat) => chat.id)).toEqual([withBob])
    })

    it('shows a private chat to the other person only once it has a message they can see', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const { chat } = await bob.client.chats.open(ada.id)
      // The one who opened it sees it at once; the other does not see an empty chat.
      expect((await bob.client.chats.list()).chats.map((c) => c.id)).toEqual([chat.id])
      expect((await ada.client.chats.list()).chats).toEqual([])

      await say(bob.client, chat.id, 'are you there?')
      expect((await ada.client.chats.list()).chats.map((c) => c.id)).toEqual([chat.id])
    })

    it('does not show a chat whose only messages come from someone the user blocked', async () => {
      const ada = await createUser(server)
      const eve = await createUser(server)
      await ada.client.contacts.block(eve.id)
      const { chat } = await eve.client.chats.open(ada.id)
      await say(eve.client, chat.id, 'let me in')
      expect((await ada.client.chats.list()).chats).toEqual([])
      // The sender still has their chat.
      expect((await eve.client.chats.list()).chats.map((c) => c.id)).toEqual([chat.id])
    })

    it('lists groups, and no longer lists a group the user left', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const { group } = await ada.client.groups.create({ name: 'Book club', participants: [bob.id] })
      expect((await bob.client.chats.list()).chats.map((c) => [c.id, c.type, c.name])).toEqual([
        [group.id, 'group', 'Book club'],
      ])
      const left = await bob.client.raw('POST', `/api/groups/${group.id}/leave`)
      expect(left.status).toBe(200)
      expect((await bob.client.chats.list()).chats).toEqual([])
    })

    it('pages with an opaque cursor, with no duplicate and no gap, pinned chats included', async () => {
      const ada = await createUser(server)
      const ids: number[] = []
      for (let index = 0; index < 7; index += 1) {
        const other = await createUser(server)
        // Three of them share one activity time: the chat id breaks the tie.
        if (index < 4) server.clock.advance(MINUTE)
        const { chat } = await ada.client.chats.open(other.id)
        await say(ada.client, chat.id, `message ${index}`)
        ids.push(chat.id)
      }
      await ada.client.chats.settings(ids[5] as number, { pinned: true })
      server.clock.advance(MINUTE)
      await ada.client.chats.settings(ids[1] as number, { pinned: true })

      const whole = (await ada.client.chats.list({ limit: 100 })).chats.map((chat) => chat.id)
      expect(whole).toHaveLength(7)
      // Pinned first (most recently pinned first), then by activity, ties by id descending.
      expect(whole).toEqual([ids[1], ids[5], ids[6], ids[4], ids[3], ids[2], ids[0]])

      for (const limit of [1, 2, 3]) {
        const paged = (await allPages(ada.client, { limit })).map((chat) => chat.id)
        expect(paged).toEqual(whole)
      }
      const firstPage = await ada.client.chats.list({ limit: 3 })
      expect(firstPage.pagination.has_more).toBe(true)
      expect(firstPage.pagination.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    })

    it('refuses a cursor it did not make', async () => {
      const ada = await createUser(server)
      for (const cursor of ['nonsense', Buffer.from('[2,1,1]').toString('base64url')]) {
        const answer = await ada.client.raw('GET', '/api/chats', { query: { cursor } })
        expect(answer.status).toBe(400)
        expect(answer.body).toMatchObject({ success: false, error: { code: 'validation_error' } })
      }
    })

    it('answers in the same number of queries for 3 chats as for 30', async () => {
      const few = await createUser(server)
      const many = await createUser(server)
      const others = await Promise.all([createUser(server), createUser(server), createUser(server)])
      for (const viewer of [few, many]) {
        for (const other of others) {
          const { chat } = await viewer.client.chats.open(other.id)
          await say(other.client, chat.id, 'hello there')
        }
      }
      for (let index = 0; index < 27; index += 1) {
        const { group } = await many.client.groups.create({
          name: `Group ${index}`,
          participants: [others[index % 3]?.id as number],
        })
        await say(many.client, group.id, `group message ${index}`)
      }

      const queriesFor = async (viewer: TestUser) => {
        const store = server.deps.store
        const original = store.db
        let count = 0
        const counter: KyselyPlugin = {
          transformQuery: (args) => {
            count += 1
            return args.node
          },
          transformResult: async (args) => args.result,
        }
        store.db = original.withPlugin(counter)
        try {
          const { chats } = await viewer.client.chats.list({ limit: 100 })
          return { chats: chats.length, count }
        } finally {
          store.db = original
        }
      }
      const small = await queriesFor(few)
      const large = await queriesFor(many)
      expect(small.chats).toBe(3)
      expect(large.chats).toBe(30)
      expect(small.count).toBeGreaterThan(0)
      expect(large.count).toBe(small.count)
    })
  })

  describe('PUT /api/chats/:id/settings', () => {
    it('mutes, pins and archives for the caller only, and tells their other devices', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const adaPhone = server.client()
      await adaPhone.auth.login({ username: ada.username, password: ada.password })
      const chatId = await chatWith(ada, bob, 'hi')
      const bobBefore = (await updatesOf(bob.client)).length

      const until = new Date(server.clock.now() + 8 * 60 * MINUTE).toISOString()
      const muted = await ada.client.chats.settings(chatId, { muted_until: until })
      expect(muted.chat).toMatchObject({ id: chatId, muted_until: until, pinned: false, archived: false })
      const pinned = await ada.client.chats.settings(chatId, { pinned: true })
      expect(pinned.chat).toMatchObject({ muted_until: until, pinned: true, archived: false })
      expect((await ada.client.chats.get(chatId)).chat).toMatchObject({ muted_until: until, pinned: true })

      // Ada's phone learns each change from her log, in order.
      const settings = (await updatesOf(adaPhone)).filter((update) => update.type === 'chat:settings')
      expect(settings.map((update) => update.data)).toEqual([
        { chat_id: chatId, muted_until: until, pinned: false, archived: false },
        { chat_id: chatId, muted_until: until, pinned: true, archived: false },
      ])
      // Bob sees nothing of it: no update, and his own view is unchanged.
      expect(await updatesOf(bob.client)).toHaveLength(bobBefore)
      expect((await bob.client.chats.get(chatId)).chat).toMatchObject({
        muted_until: null,
        pinned: false,
        archived: false,
      })

      // Setting what is already set changes nothing and appends nothing.
      await ada.client.chats.settings(chatId, { pinned: true })
      expect((await updatesOf(adaPhone)).filter((update) => update.type === 'chat:settings')).toHaveLength(2)

      const unmuted = await ada.client.chats.settings(chatId, { muted_until: null, pinned: false })
      expect(unmuted.chat).toMatchObject({ muted_until: null, pinned: false })
    })

    it('archiving moves a chat out of the list and into the archived list, and back', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const cyd = await createUser(server)
      const withBob = await chatWith(ada, bob, 'hi bob')
      const withCyd = await chatWith(ada, cyd, 'hi cyd')

      const archived = await ada.client.chats.settings(withBob, { archived: true })
      expect(archived.chat.archived).toBe(true)
      expect((await ada.client.chats.list()).chats.map((chat) => chat.id)).toEqual([withCyd])
      expect((await ada.client.chats.list({ archived: true })).chats.map((chat) => chat.id)).toEqual([
        withBob,
      ])
      const raw = await ada.client.raw('GET', '/api/chats', { query: { archived: 'true' } })
      expect((raw.body as { chats: Chat[] }).chats.map((chat) => chat.id)).toEqual([withBob])
      // Bob's list is his own business.
      expect((await bob.client.chats.list()).chats.map((chat) => chat.id)).toEqual([withBob])

      await ada.client.chats.settings(withBob, { archived: false })
      expect((await ada.client.chats.list()).chats.map((chat) => chat.id)).toEqual([withCyd, withBob])
      expect((await ada.client.chats.list({ archived: true })).chats).toEqual([])
    })

    it('refuses non-members, unknown fields and empty bodies', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const eve = await createUser(server)
      const chatId = await chatWith(ada, bob, 'hi')

      const stranger = await eve.client.raw('PUT', `/api/chats/${chatId}/settings`, {
        body: { pinned: true },
      })
      expect(stranger.status).toBe(404)
      expect(stranger.body).toMatchObject({ success: false, error: { code: 'not_found' } })
      const missing = await ada.client.raw('PUT', '/api/chats/999999/settings', { body: { pinned: true } })
      expect(missing.status).toBe(404)

      for (const body of [{}, { pinned: 'yes' }, { colour: 'red' }, { muted_until: 'tomorrow' }]) {
        const answer = await ada.client.raw('PUT', `/api/chats/${chatId}/settings`, { body })
        expect(answer.status).toBe(400)
      }
      const anonymous = await server.client().raw('PUT', `/api/chats/${chatId}/settings`, {
        body: { pinned: true },
      })
      expect(anonymous.status).toBe(401)
      // Nothing changed for Ada.
      expect((await ada.client.chats.get(chatId)).chat).toMatchObject({ pinned: false, muted_until: null })
    })
  })
})
