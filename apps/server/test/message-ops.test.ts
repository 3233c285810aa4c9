import type { Message, Update } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, fullHistory, syncAll, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/** The updates of one type in a replayed log, narrowed. */
const ofType = <T extends Update['type']>(updates: Update[], type: T) =>
  updates.filter((update): update is Extract<Update, { type: T }> => update.type === type)

const byId = (messages: Message[], id: number) => messages.find((message) => message.id === id)

describe.each(MODES)('operations on messages (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** Two fresh users, their private chat, and an outsider who is in neither. */
  async function pair(): Promise<{ ada: TestUser; bob: TestUser; eve: TestUser; chatId: number }> {
    const [ada, bob, eve] = await Promise.all([createUser(server), createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, eve, chatId: chat.id }
  }

  const now = () => new Date(server.clock.now()).toISOString()

  describe('PUT /api/messages/:id (edit)', () => {
    it('lets the sender edit, keeps earlier versions, and tells every member', async () => {
      const { ada, bob, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('helo wrold'))
      const sentAt = now()

      server.clock.advance(60_000)
      const firstEditAt = now()
      const first = await ada.client.messages.edit(message.id, 'hello wrold')
      expect(first.message).toMatchObject({
        id: message.id,
        seq: message.seq,
        content: 'hello wrold',
        edited_at: firstEditAt,
        sent_at: sentAt,
      })
      server.clock.advance(60_000)
      const secondEditAt = now()
      await ada.client.messages.edit(message.id, 'hello world')

      // Any member can list the versions; the sender sees the same list.
      const expected = [
        { content: 'helo wrold', edited_at: firstEditAt },
        { content: 'hello wrold', edited_at: secondEditAt },
      ]
      expect((await bob.client.messages.edits(message.id)).edits).toEqual(expected)
      expect((await ada.client.messages.edits(message.id)).edits).toEqual(expected)

      const seen = byId(await fullHistory(bob.client, chatId), message.id)
      expect(seen).toMatchObject({ content: 'hello world', edited_at: secondEditAt, deleted: false })

      for (const user of [ada, bob]) {
        const edits = ofType(await syncAll(user.client), 'message:edited')
        expect(edits.map((update) => [update.data.chat_id, update.data.message.content])).toEqual([
          [chatId, 'hello wrold'],
          [chatId, 'hello world'],
        ])
      }
    })

    it('saving the same text again records no version and sends no update', async () => {
      const { ada, bob, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('as is'))
      const same = await ada.client.messages.edit(message.id, 'as is')
      expect(same.message).toMatchObject({ content: 'as is', edited_at: null })
      expect((await ada.client.messages.edits(message.id)).edits).toEqual([])
      expect(ofType(await syncAll(bob.client), 'message:edited')).toEqual([])
    })

    it('refuses another member (403), an outsider (404), oversized or empty text (400) and non-text (400)', async () => {
      const { ada, bob, eve, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('mine'))

      const byBob = await bob.client.raw('PUT', `/api/messages/${message.id}`, {
        body: { content: 'hijacked' },
      })
      expect(byBob.status).toBe(403)
      expect(codeOf(byBob)).toBe('forbidden')

      const byEve = await eve.client.raw('PUT', `/api/messages/${message.id}`, {
        body: { content: 'hijacked' },
      })
      expect(byEve.status).toBe(404)
      expect(codeOf(byEve)).toBe('not_found')
      expect(codeOf(await eve.client.raw('GET', `/api/messages/${message.id}/edits`))).toBe('not_found')
      expect(codeOf(await ada.client.raw('PUT', '/api/messages/999999999', { body: { content: 'x' } }))).toBe(
        'not_found',
      )

      const oversized = await ada.client.raw('PUT', `/api/messages/${message.id}`, {
        body: { content: 'x'.repeat(10_001) },
      })
      expect(oversized.status).toBe(400)
      expect(codeOf(oversized)).toBe('validation_error')
      const blank = await ada.client.raw('PUT', `/api/messages/${message.id}`, { body: { content: '   ' } })
      expect(blank.status).toBe(400)
      const invisible = await ada.client.raw('PUT', `/api/messages/${message.id}`, {
        body: { content: '\u200B\u{E0041}' },
      })
      expect(invisible.status).toBe(400)
      expect(codeOf(invisible)).toBe('validation_error')

      const { message: place } = await ada.client.messages.send(chatId, {
        ...text(''),
        message_type: 'location',
        content: undefined,
        location: { latitude: 51.5, longitude: -0.12 },
      })
      const editPlace = await ada.client.raw('PUT', `/api/messages/${place.id}`, {
        body: { content: 'here' },
      })
      expect(editPlace.status).toBe(400)
      expect(codeOf(editPlace)).toBe('validation_error')

      // None of it changed anything anyone sees.
      const history = await fullHistory(bob.client, chatId)
      expect(byId(history, message.id)).toMatchObject({ content: 'mine', edited_at: null })
      expect(ofType(await syncAll(bob.client), 'message:edited')).toEqual([])
    })

    it('the maximum length (10,000 characters) is accepted', async () => {
      const { ada, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('short'))
      const long = 'y'.repeat(10_000)
      expect((await ada.client.messages.edit(message.id, long)).message.content).toBe(long)
    })
  })

  describe('DELETE /api/messages/:id', () => {
    it('for everyone by the sender: a placeholder for all, reactions and versions gone, no more changes', async () => {
      const { ada, bob, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('oops, wrong chat'))
      await ada.client.messages.edit(message.id, 'oops, wrong chat!')
      await bob.client.messages.react(message.id, '👍')

      const refused = await bob.client.raw('DELETE', `/api/messages/${message.id}`, {
        query: { for: 'everyone' },
      })
      expect(refused.status).toBe(403)
      expect(codeOf(refused)).toBe('forbidden')

      expect(await ada.client.messages.delete(message.id, { for: 'everyone' })).toEqual({
        success: true,
        message: 'Message deleted successfully',
      })
      for (const user of [ada, bob]) {
        expect(byId(await fullHistory(user.client, chatId), message.id)).toMatchObject({
          id: message.id,
          deleted: true,
          content: null,
          reactions: [],
        })
        const deletions = ofType(await syncAll(user.client), 'message:deleted')
        expect(deletions.map((update) => update.data)).toEqual([
          { chat_id: chatId, message_id: message.id, for: 'everyone' },
        ])
      }
      expect((await bob.client.messages.edits(message.id)).edits).toEqual([])

      // A placeholder cannot be edited, reacted to or forwarded; deleting it again changes nothing.
      const edit = await ada.client.raw('PUT', `/api/messages/${message.id}`, { body: { content: 'again' } })
      expect([edit.status, codeOf(edit)]).toEqual([409, 'conflict'])
      const react = await bob.client.raw('POST', `/api/messages/${message.id}/reactions`, {
        body: { emoji: '👍' },
      })
      expect([react.status, codeOf(react)]).toEqual([409, 'conflict'])
      const forward = await ada.client.raw('POST', `/api/messages/${message.id}/forward`, {
        body: { chat_ids: [chatId] },
      })
      expect([forward.status, codeOf(forward)]).toEqual([409, 'conflict'])
      await ada.client.messages.delete(message.id, { for: 'everyone' })
      expect(ofType(await syncAll(bob.client), 'message:deleted')).toHaveLength(1)
      expect((await fullHistory(bob.client, chatId)).map((m) => m.id)).toEqual([message.id])
    })

    it('for me: only the caller loses it, and it is not_found for them from then on', async () => {
      const { ada, bob, chatId } = await pair()
      const { message: keep } = await ada.client.messages.send(chatId, text('keep'))
      const { message: drop } = await ada.client.messages.send(chatId, text('drop'))

      // `for` defaults to me.
      const answer = await bob.client.raw('DELETE', `/api/messages/${drop.id}`)
      expect(answer.status).toBe(200)

      expect((await fullHistory(bob.client, chatId)).map((m) => m.id)).toEqual([keep.id])
      expect((await fullHistory(ada.client, chatId)).map((m) => [m.id, m.deleted])).toEqual([
        [keep.id, false],
        [drop.id, false],
      ])
      // Bob's replay: the delete, and where `message:new` carried it, a `message:deleted` now (same seq).
      const bobs = await syncAll(bob.client)
      expect(ofType(bobs, 'message:deleted').map((update) => update.data)).toEqual([
        { chat_id: chatId, message_id: drop.id, for: 'me' },
        { chat_id: chatId, message_id: drop.id, for: 'me' },
      ])
      expect(ofType(bobs, 'message:new').map((update) => update.data.message.id)).toEqual([keep.id])
      expect(ofType(await syncAll(ada.client), 'message:deleted')).toEqual([])
      expect(
        ofType(await syncAll(ada.client), 'message:new').map((update) => update.data.message.id),
      ).toEqual([keep.id, drop.id])

      for (const attempt of [
        bob.client.raw('GET', `/api/messages/${drop.id}/edits`),
        bob.client.raw('POST', `/api/messages/${drop.id}/reactions`, { body: { emoji: '👍' } }),
        bob.client.raw('DELETE', `/api/messages/${drop.id}`),
        bob.client.raw('POST', `/api/messages/${drop.id}/forward`, { body: { chat_ids: [chatId] } }),
      ]) {
        expect(codeOf(await attempt)).toBe('not_found')
      }

      // Later changes to it do not reach the one who hid it.
      await ada.client.messages.edit(drop.id, 'dropped')
      expect(ofType(await syncAll(bob.client), 'message:edited')).toEqual([])
      expect(ofType(await syncAll(ada.client), 'message:edited')).toHaveLength(1)
    })

    it('an outsider gets not_found', async () => {
      const { ada, eve, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('private'))
      const attempt = await eve.client.raw('DELETE', `/api/messages/${message.id}`, {
        query: { for: 'everyone' },
      })
      expect([attempt.status, codeOf(attempt)]).toEqual([404, 'not_found'])
      expect(byId(await fullHistory(ada.client, chatId), message.id)?.deleted).toBe(false)
    })

    it('for everyone in a group: a group admin may delete any message, a plain member only their own', async () => {
      const [ada, bob, carl] = await Promise.all([createUser(server), createUser(server), createUser(server)])
      const { group } = await ada.client.groups.create({ name: 'Crew', participants: [bob.id, carl.id] })
      const { message: bobs } = await bob.client.messages.send(group.id, text('from bob'))
      const { message: carls } = await carl.client.messages.send(group.id, text('from carl'))

      const byMember = await carl.client.raw('DELETE', `/api/messages/${bobs.id}`, {
        query: { for: 'everyone' },
      })
      expect([byMember.status, codeOf(byMember)]).toEqual([403, 'forbidden'])

      await ada.client.messages.delete(bobs.id, { for: 'everyone' })
      await carl.client.messages.delete(carls.id, { for: 'everyone' })
      for (const user of [ada, bob, carl]) {
        const history = await fullHistory(user.client, group.id)
        expect([byId(history, bobs.id)?.deleted, byId(history, carls.id)?.deleted]).toEqual([true, true])
        expect(
          ofType(await syncAll(user.client), 'message:deleted').map((update) => update.data.message_id),
        ).toEqual([bobs.id, carls.id])
      }
    })
  })

  describe('POST /api/messages/:id/forward', () => {
    it('sends a forwarded copy into each chat, as a normal send to its members', async () => {
      const [ada, bob, carl] = await Promise.all([createUser(server), createUser(server), createUser(server)])
      const withBob = (await ada.client.chats.open(bob.id)).chat.id
      const withCarl = (await ada.client.chats.open(carl.id)).chat.id
      const { group } = await ada.client.groups.create({ name: 'Both', participants: [bob.id, carl.id] })
      const { message: original } = await bob.client.messages.send(withBob, text('pass it on'))
      const groupBefore = await fullHistory(carl.client, group.id)

      const { messages } = await ada.client.messages.forward(original.id, [withCarl, group.id])
      expect(messages).toHaveLength(2)
      expect(messages.map((m) => [m.chat_id, m.sender_id, m.content, m.forwarded])).toEqual([
        [withCarl, ada.id, 'pass it on', true],
        [group.id, ada.id, 'pass it on', true],
      ])
      expect(messages[0]?.seq).toBe(1)
      expect(messages[1]?.seq).toBe((groupBefore.at(-1)?.seq ?? 0) + 1)

      // Carl sees both copies in both chats and got them as message:new.
      expect((await fullHistory(carl.client, withCarl)).map((m) => [m.id, m.forwarded])).toEqual([
        [messages[0]?.id, true],
      ])
      expect((await fullHistory(carl.client, group.id)).at(-1)).toMatchObject({
        id: messages[1]?.id,
        forwarded: true,
      })
      const arrived = ofType(await syncAll(carl.client), 'message:new').map(
        (update) => update.data.message.id,
      )
      expect(arrived).toEqual(expect.arrayContaining([messages[0]?.id, messages[1]?.id]))
      // The original is untouched and still not marked as forwarded.
      expect(byId(await fullHistory(bob.client, withBob), original.id)?.forwarded).toBe(false)
    })

    it('refuses the whole request (404) if any chat is not yours, before sending anything', async () => {
      const [ada, bob, carl] = await Promise.all([createUser(server), createUser(server), createUser(server)])
      const withBob = (await ada.client.chats.open(bob.id)).chat.id
      const bobCarl = (await bob.client.chats.open(carl.id)).chat.id
      const { message } = await ada.client.messages.send(withBob, text('not for carl'))

      const refused = await ada.client.raw('POST', `/api/messages/${message.id}/forward`, {
        body: { chat_ids: [withBob, bobCarl] },
      })
      expect([refused.status, codeOf(refused)]).toEqual([404, 'not_found'])
      expect((await fullHistory(bob.client, withBob)).map((m) => m.id)).toEqual([message.id])
      expect(await fullHistory(bob.client, bobCarl)).toEqual([])

      const tooMany = await ada.client.raw('POST', `/api/messages/${message.id}/forward`, {
        body: { chat_ids: Array.from({ length: 21 }, (_, i) => i + 1) },
      })
      expect([tooMany.status, codeOf(tooMany)]).toEqual([400, 'validation_error'])
      const none = await ada.client.raw('POST', `/api/messages/${message.id}/forward`, {
        body: { chat_ids: [] },
      })
      expect(none.status).toBe(400)
    })
  })

  describe('reactions', () => {
    it('one per emoji per user, aggregated as seed 002 shows, with message:reaction to every member', async () => {
      const { ada, bob, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('party tonight'))

      // Summaries list emoji in the order they were first used.
      server.clock.advance(1000)
      expect(await bob.client.messages.react(message.id, '👍')).toEqual({
        success: true,
        reaction: { message_id: message.id, emoji: '👍', count: 1 },
      })
      const repeat = await bob.client.raw('POST', `/api/messages/${message.id}/reactions`, {
        body: { emoji: '👍' },
      })
      expect(repeat.status).toBe(200)
      expect(repeat.body).toEqual({
        success: true,
        reaction: { message_id: message.id, emoji: '👍', count: 1 },
      })
      server.clock.advance(1000)
      expect((await ada.client.messages.react(message.id, '👍')).reaction.count).toBe(2)
      server.clock.advance(1000)
      expect((await ada.client.messages.react(message.id, '❤️')).reaction.count).toBe(1)

      const reactions = [
        {
          emoji: '👍',
          count: 2,
          users: [
            { id: bob.id, name: bob.username },
            { id: ada.id, name: ada.username },
          ],
        },
        { emoji: '❤️', count: 1, users: [{ id: ada.id, name: ada.username }] },
      ]
      expect(byId(await fullHistory(bob.client, chatId), message.id)?.reactions).toEqual(reactions)

      expect(await bob.client.messages.unreact(message.id, '👍')).toEqual({
        success: true,
        reaction: { message_id: message.id, emoji: '👍', count: 1 },
      })
      // Taking back a reaction that is not there changes nothing.
      expect((await bob.client.messages.unreact(message.id, '🎉')).reaction.count).toBe(0)

      const after = [
        { emoji: '👍', count: 1, users: [{ id: ada.id, name: ada.username }] },
        { emoji: '❤️', count: 1, users: [{ id: ada.id, name: ada.username }] },
      ]
      expect(byId(await fullHistory(ada.client, chatId), message.id)?.reactions).toEqual(after)

      for (const user of [ada, bob]) {
        const updates = ofType(await syncAll(user.client), 'message:reaction')
        expect(updates.map(({ data }) => [data.user_id, data.emoji, data.action])).toEqual([
          [bob.id, '👍', 'added'],
          [ada.id, '👍', 'added'],
          [ada.id, '❤️', 'added'],
          [bob.id, '👍', 'removed'],
        ])
        expect(updates.at(-1)?.data).toMatchObject({
          chat_id: chatId,
          message_id: message.id,
          reactions: after,
        })
        expect(updates[2]?.data.reactions).toEqual(reactions)
      }
    })

    it('accepts single emoji of every kind and refuses anything else (400); outsiders get 404', async () => {
      const { ada, bob, eve, chatId } = await pair()
      const { message } = await ada.client.messages.send(chatId, text('react to me'))
      for (const emoji of ['👍🏽', '🇬🇧', '1️⃣', '👩‍💻', '❤️']) {
        expect((await bob.client.messages.react(message.id, emoji)).reaction).toEqual({
          message_id: message.id,
          emoji,
          count: 1,
        })
        expect((await bob.client.messages.unreact(message.id, emoji)).reaction.count).toBe(0)
      }
      for (const emoji of ['ok', '👍👍', ' 👍', '', 'x'.repeat(17), '1']) {
        const refused = await bob.client.raw('POST', `/api/messages/${message.id}/reactions`, {
          body: { emoji },
        })
        expect([emoji, refused.status, codeOf(refused)]).toEqual([emoji, 400, 'validation_error'])
      }
      const outsider = await eve.client.raw('POST', `/api/messages/${message.id}/reactions`, {
        body: { emoji: '👍' },
      })
      expect([outsider.status, codeOf(outsider)]).toEqual([404, 'not_found'])
      expect(
        codeOf(
          await eve.client.raw('DELETE', `/api/messages/${message.id}/reactions/${encodeURIComponent('👍')}`),
        ),
      ).toBe('not_found')
      expect(byId(await fullHistory(ada.client, chatId), message.id)?.reactions).toEqual([])
    })
  })
})
