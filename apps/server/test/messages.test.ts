import type { Message } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import {
  clientMsgId,
  codeOf,
  fullHistory,
  newMessagesIn,
  range,
  sendRaw,
  syncAll,
  text,
} from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/** What two members must agree on: the order of a chat, by per-chat seq and message id. */
const order = (messages: Message[]) => messages.map((message) => [message.seq, message.id])

describe.each(MODES)('chats and messages (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    // Bursts of concurrent sends are the point of several tests; the rate limiter is not under test.
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** Two fresh users and their private chat. */
  async function pair(): Promise<{ ada: TestUser; bob: TestUser; chatId: number }> {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, chatId: chat.id }
  }

  /** Sends `count` texts and answers the messages in send order. */
  async function sendMany(
    user: TestUser,
    chatId: number,
    count: number,
    prefix = 'message',
  ): Promise<Message[]> {
    const sent: Message[] = []
    for (let i = 1; i <= count; i++) {
      sent.push((await user.client.messages.send(chatId, text(`${prefix} ${i}`))).message)
    }
    return sent
  }

  describe('POST /api/chats', () => {
    it('creates the private chat of a pair once (201), then returns it to either side (200)', async () => {
      const [ada, bob] = await Promise.all([createUser(server), createUser(server)])

      const created = await ada.client.raw('POST', '/api/chats', {
        body: { type: 'private', user_id: bob.id },
      })
      expect(created.status).toBe(201)
      const { chat } = created.body as { chat: { id: number } }
      expect(created.body).toMatchObject({
        success: true,
        chat: {
          id: chat.id,
          type: 'private',
          participant: { id: bob.id, username: bob.username },
          participants_count: 2,
          last_message: null,
          unread_count: 0,
        },
      })

      const again = await ada.client.raw('POST', '/api/chats', { body: { type: 'private', user_id: bob.id } })
      expect(again.status).toBe(200)
      expect(again.body).toMatchObject({ success: true, chat: { id: chat.id } })

      const fromBob = await bob.client.raw('POST', '/api/chats', {
        body: { type: 'private', user_id: ada.id },
      })
      expect(fromBob.status).toBe(200)
      expect(fromBob.body).toMatchObject({
        success: true,
        chat: { id: chat.id, participant: { id: ada.id } },
      })
    })

    it('refuses a chat with yourself (400) and with a user who does not exist (404)', async () => {
      const ada = await createUser(server)
      const self = await ada.client.raw('POST', '/api/chats', { body: { type: 'private', user_id: ada.id } })
      expect(self.status).toBe(400)
      expect(codeOf(self)).toBe('validation_error')

      const nobody = await ada.client.raw('POST', '/api/chats', {
        body: { type: 'private', user_id: 999_999_999 },
      })
      expect(nobody.status).toBe(404)
      expect(codeOf(nobody)).toBe('not_found')
    })

    it('keeps one chat when both people open it at the same moment', async () => {
      const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
      const answers = await Promise.all([
        ...range(0, 5).map(() =>
          ada.client.raw('POST', '/api/chats', { body: { type: 'private', user_id: bob.id } }),
        ),
        ...range(0, 5).map(() =>
          bob.client.raw('POST', '/api/chats', { body: { type: 'private', user_id: ada.id } }),
        ),
      ])
      const ids = new Set(answers.map((answer) => (answer.body as { chat: { id: number } }).chat.id))
      expect(ids.size).toBe(1)
      expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1)
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(9)
    })
  })

  describe('sending', () => {
    it('sends a text (201) in the seed 002 shape, and the recipient gets it in their log', async () => {
      const { ada, bob, chatId } = await pair()
      const body = text('Hello Bob')
      const sent = await sendRaw(ada.client, chatId, body)
      expect(sent.status).toBe(201)
      expect(sent.body).toEqual({
        success: true,
        message: {
          id: expect.any(Number),
          chat_id: chatId,
          seq: 1,
          sender_id: ada.id,
          sender: { id: ada.id, name: ada.username, avatar_url: null },
          client_msg_id: body.client_msg_id,
          message_type: 'text',
          content: 'Hello Bob',
          location: null,
          contact: null,
          system: null,
          attachments: [],
          media_url: null,
          thumbnail_url: null,
          media_size: null,
          reply_to_message_id: null,
          reply_to: null,
          forwarded: false,
          reactions: [],
          status: 'sent',
          delivered_count: null,
          read_count: null,
          deleted: false,
          sent_at: new Date(server.clock.now()).toISOString(),
          edited_at: null,
        },
      })
      const received = newMessagesIn(await syncAll(bob.client), chatId)
      expect(received.map((message) => [message.id, message.content])).toEqual([
        [sent.message?.id, 'Hello Bob'],
      ])
    })

    it('sends a location and a contact', async () => {
      const { ada, bob, chatId } = await pair()
      const location = { latitude: 51.5007, longitude: -0.1246, name: 'Big Ben' }
      const placed = await sendRaw(ada.client, chatId, {
        message_type: 'location',
        client_msg_id: clientMsgId(),
        location,
      })
      expect(placed.status).toBe(201)
      expect(placed.message).toMatchObject({
        message_type: 'location',
        content: null,
        location,
        contact: null,
      })

      const contact = { name: 'Grace Hopper', phone_number: '+14155550199' }
      const shared = await sendRaw(bob.client, chatId, {
        message_type: 'contact',
        client_msg_id: clientMsgId(),
        content: 'her number',
        contact,
      })
      expect(shared.status).toBe(201)
      expect(shared.message).toMatchObject({
        message_type: 'contact',
        content: 'her number',
        contact,
        location: null,
        seq: 2,
      })

      const { messages } = await bob.client.messages.history(chatId)
      expect(messages.map((message) => [message.message_type, message.location, message.contact])).toEqual([
        ['location', location, null],
        ['contact', null, contact],
      ])
    })

    it('keeps markup as the text it is: never rendered, escaped or trimmed into HTML', async () => {
      const { ada, bob, chatId } = await pair()
      const raw = '*bold* _italic_ <b>x</b> & "quotes" <script>alert(1)</script>'
      const sent = await ada.client.messages.send(chatId, text(raw))
      expect(sent.message.content).toBe(raw)
      const { messages } = await bob.client.messages.history(chatId)
      expect(messages.map((message) => message.content)).toEqual([raw])
      expect(newMessagesIn(await syncAll(bob.client), chatId).map((message) => message.content)).toEqual([
        raw,
      ])
    })

    it('accepts exactly 10,000 characters and refuses 10,001', async () => {
      const { ada, chatId } = await pair()
      const longest = await sendRaw(ada.client, chatId, text('a'.repeat(10_000)))
      expect(longest.status).toBe(201)
      expect(longest.message?.content).toHaveLength(10_000)

      const tooLong = await sendRaw(ada.client, chatId, text('a'.repeat(10_001)))
      expect(tooLong.status).toBe(400)
      expect(codeOf(tooLong)).toBe('validation_error')
    })

    it.each([
      ['empty text', { message_type: 'text', content: '' }],
      ['blank text', { message_type: 'text', content: '   \n ' }],
      ['invisible text', { message_type: 'text', content: '\u200B\u2060\u{E0041}\u3164' }],
      ['text without content', { message_type: 'text' }],
      ['location without location', { message_type: 'location' }],
      ['contact without contact', { message_type: 'contact', content: 'who?' }],
      ['an unknown field', { message_type: 'text', content: 'hi', colour: 'red' }],
      ['an unknown message type', { message_type: 'sticker', content: 'hi' }],
      ['a system message', { message_type: 'system', content: 'hi' }],
      ['a latitude off the globe', { message_type: 'location', location: { latitude: 91, longitude: 0 } }],
      ['an empty client_msg_id', { message_type: 'text', content: 'hi', client_msg_id: '' }],
      ['a client_msg_id with spaces', { message_type: 'text', content: 'hi', client_msg_id: 'a b' }],
      ['a client_msg_id of 65 chars', { message_type: 'text', content: 'hi', client_msg_id: 'x'.repeat(65) }],
    ])('refuses %s with 400 validation_error and stores nothing', async (_name, body) => {
      const { ada, bob, chatId } = await pair()
      const answer = await sendRaw(ada.client, chatId, { client_msg_id: clientMsgId(), ...body })
      expect(answer.status).toBe(400)
      expect(codeOf(answer)).toBe('validation_error')
      expect((await bob.client.messages.history(chatId)).messages).toEqual([])
      expect(newMessagesIn(await syncAll(bob.client), chatId)).toEqual([])
    })

    it('shows a preview of the message replied to', async () => {
      const { ada, bob, chatId } = await pair()
      const question = await ada.client.messages.send(chatId, text('Lunch at *one*?'))
      const answer = await sendRaw(
        bob.client,
        chatId,
        text('Yes', { reply_to_message_id: question.message.id }),
      )
      expect(answer.status).toBe(201)
      const preview = {
        id: question.message.id,
        sender_id: ada.id,
        message_type: 'text',
        content: 'Lunch at *one*?',
        deleted: false,
      }
      expect(answer.message).toMatchObject({ reply_to_message_id: question.message.id, reply_to: preview })
      const { messages } = await ada.client.messages.history(chatId)
      expect(messages.at(-1)).toMatchObject({ reply_to_message_id: question.message.id, reply_to: preview })
      const live = newMessagesIn(await syncAll(ada.client), chatId).at(-1)
      expect(live).toMatchObject({ id: answer.message?.id, reply_to: preview })
    })

    it('refuses a reply to a message of another chat or to no message (400)', async () => {
      const { ada, bob, chatId } = await pair()
      const cyd = await createUser(server)
      const { chat: other } = await ada.client.chats.open(cyd.id)
      const elsewhere = await ada.client.messages.send(other.id, text('for Cyd only'))

      const crossChat = await sendRaw(
        bob.client,
        chatId,
        text('peek', { reply_to_message_id: elsewhere.message.id }),
      )
      expect(crossChat.status).toBe(400)
      expect(codeOf(crossChat)).toBe('validation_error')
      const missing = await sendRaw(bob.client, chatId, text('?', { reply_to_message_id: 999_999_999 }))
      expect(missing.status).toBe(400)
      expect((await bob.client.messages.history(chatId)).messages).toEqual([])
    })

    it('refuses a non-member sending, reading or marking read with 404 not_found', async () => {
      const { ada, chatId } = await pair()
      const first = await ada.client.messages.send(chatId, text('private'))
      const eve = await createUser(server)

      const send = await sendRaw(eve.client, chatId, text('let me in'))
      expect([send.status, codeOf(send)]).toEqual([404, 'not_found'])
      const history = await eve.client.raw('GET', `/api/chats/${chatId}/messages`)
      expect([history.status, codeOf(history)]).toEqual([404, 'not_found'])
      const chat = await eve.client.raw('GET', `/api/chats/${chatId}`)
      expect([chat.status, codeOf(chat)]).toEqual([404, 'not_found'])
      const read = await eve.client.raw('PUT', `/api/chats/${chatId}/read`, {
        body: { message_id: first.message.id },
      })
      expect([read.status, codeOf(read)]).toEqual([404, 'not_found'])
      // A chat that does not exist answers the same as one that is not yours.
      const missing = await eve.client.raw('GET', `/api/chats/999999999/messages`)
      expect([missing.status, codeOf(missing)]).toEqual([404, 'not_found'])
      // A message by id: the members read it, the outsider gets the same answer as for no message at all.
      expect((await ada.client.messages.get(first.message.id)).message.content).toBe('private')
      const byId = await eve.client.raw('GET', `/api/messages/${first.message.id}`)
      expect([byId.status, codeOf(byId)]).toEqual([404, 'not_found'])
      const noSuch = await eve.client.raw('GET', '/api/messages/999999999')
      expect(byId.body).toEqual(noSuch.body)

      expect((await ada.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'private',
      ])
      expect(await syncAll(eve.client)).toEqual([])
    })

    it('refuses a signed-out send with 401', async () => {
      const { chatId } = await pair()
      const answer = await sendRaw(server.client(), chatId, text('anonymous'))
      expect(answer.status).toBe(401)
    })
  })

  describe('idempotent sends', () => {
    it('answers a retry with the same client_msg_id with the original message (200)', async () => {
      const { ada, bob, chatId } = await pair()
      const body = text('once')
      const first = await sendRaw(ada.client, chatId, body)
      const retry = await sendRaw(ada.client, chatId, body)
      const changedRetry = await sendRaw(ada.client, chatId, { ...body, content: 'twice?' })
      expect([first.status, retry.status, changedRetry.status]).toEqual([201, 200, 200])
      expect(retry.message).toEqual(first.message)
      expect(changedRetry.message).toEqual(first.message)

      expect((await bob.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'once',
      ])
      expect(newMessagesIn(await syncAll(bob.client), chatId)).toHaveLength(1)
      expect(newMessagesIn(await syncAll(ada.client), chatId)).toHaveLength(1)
    })

    it('keys idempotency by sender: another sender may use the same client_msg_id', async () => {
      const { ada, bob, chatId } = await pair()
      const shared = clientMsgId()
      const fromAda = await sendRaw(ada.client, chatId, text('from Ada', { client_msg_id: shared }))
      const fromBob = await sendRaw(bob.client, chatId, text('from Bob', { client_msg_id: shared }))
      expect([fromAda.status, fromBob.status]).toEqual([201, 201])
      expect(fromBob.message?.id).not.toBe(fromAda.message?.id)
      expect((await ada.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'from Ada',
        'from Bob',
      ])
    })

    it('keeps one message under 50 concurrent duplicates: one 201, 49 × 200, one message:new', async () => {
      const { ada, bob, chatId } = await pair()
      const body = text('only once, however often I press send')
      const answers = await Promise.all(range(0, 50).map(() => sendRaw(ada.client, chatId, body)))

      const statuses = answers.map((answer) => answer.status)
      expect(statuses.filter((status) => status === 201)).toHaveLength(1)
      expect(statuses.filter((status) => status === 200)).toHaveLength(49)
      const ids = new Set(answers.map((answer) => answer.message?.id))
      expect(ids.size).toBe(1)
      const [id] = ids

      const history = await bob.client.messages.history(chatId)
      expect(history.messages.map((message) => [message.id, message.seq])).toEqual([[id, 1]])
      const bobLog = await syncAll(bob.client)
      expect(newMessagesIn(bobLog, chatId).map((message) => message.id)).toEqual([id])
      const adaLog = await syncAll(ada.client)
      expect(newMessagesIn(adaLog, chatId).map((message) => message.id)).toEqual([id])
      // And nothing else was half-written: the next message is seq 2, with no hole left by the losers.
      const next = await ada.client.messages.send(chatId, text('next'))
      expect(next.message.seq).toBe(2)
      expect((await syncAll(bob.client)).map((update) => update.seq)).toEqual(range(1, bobLog.length + 1))
    })
  })

  describe('history', () => {
    /** A chat with ten messages, alternating senders; answers them in order. */
    async function tenMessages() {
      const { ada, bob, chatId } = await pair()
      const sent: Message[] = []
      for (let i = 1; i <= 10; i++) {
        const from = i % 2 === 1 ? ada : bob
        sent.push((await from.client.messages.send(chatId, text(`m${i}`))).message)
      }
      return { ada, bob, chatId, sent }
    }
    const contents = (messages: Message[]) => messages.map((message) => message.content)

    it('answers the newest page oldest first, then older pages with before_message_id', async () => {
      const { bob, chatId } = await tenMessages()
      const newest = await bob.client.messages.history(chatId, { limit: 4 })
      expect(contents(newest.messages)).toEqual(['m7', 'm8', 'm9', 'm10'])
      expect(newest.messages.map((message) => message.seq)).toEqual([7, 8, 9, 10])
      expect(newest.pagination).toEqual({
        has_more_before: true,
        has_more_after: false,
        has_more: true,
        next_before_message_id: newest.messages[0]?.id,
      })

      const older = await bob.client.messages.history(chatId, {
        limit: 4,
        before_message_id: newest.pagination.next_before_message_id ?? 0,
      })
      expect(contents(older.messages)).toEqual(['m3', 'm4', 'm5', 'm6'])
      expect(older.pagination).toMatchObject({ has_more_before: true, has_more_after: true })

      const oldest = await bob.client.messages.history(chatId, {
        limit: 4,
        before_message_id: older.pagination.next_before_message_id ?? 0,
      })
      expect(contents(oldest.messages)).toEqual(['m1', 'm2'])
      expect(oldest.pagination).toEqual({
        has_more_before: false,
        has_more_after: true,
        has_more: false,
        next_before_message_id: null,
      })

      const everything = await bob.client.messages.history(chatId)
      expect(contents(everything.messages)).toEqual(range(1, 10).map((i) => `m${i}`))
      expect(everything.pagination).toMatchObject({
        has_more_before: false,
        has_more_after: false,
        has_more: false,
      })
    })

    it('pages forward with after_message_id', async () => {
      const { ada, chatId, sent } = await tenMessages()
      const next = await ada.client.messages.history(chatId, { limit: 3, after_message_id: sent[2]?.id })
      expect(contents(next.messages)).toEqual(['m4', 'm5', 'm6'])
      expect(next.pagination).toMatchObject({ has_more_before: true, has_more_after: true })
      const last = await ada.client.messages.history(chatId, { limit: 3, after_message_id: sent[7]?.id })
      expect(contents(last.messages)).toEqual(['m9', 'm10'])
      expect(last.pagination).toMatchObject({ has_more_before: true, has_more_after: false })
      const none = await ada.client.messages.history(chatId, { limit: 3, after_message_id: sent[9]?.id })
      expect(none.messages).toEqual([])
      expect(none.pagination).toMatchObject({ has_more_after: false })
    })

    it('answers a deep link with around_message_id: the message with context on both sides', async () => {
      const { bob, chatId, sent } = await tenMessages()
      const middle = await bob.client.messages.history(chatId, { limit: 5, around_message_id: sent[4]?.id })
      expect(contents(middle.messages)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7'])
      expect(middle.pagination).toMatchObject({ has_more_before: true, has_more_after: true })

      const start = await bob.client.messages.history(chatId, { limit: 5, around_message_id: sent[0]?.id })
      expect(contents(start.messages)).toEqual(['m1', 'm2', 'm3'])
      expect(start.pagination).toMatchObject({ has_more_before: false, has_more_after: true })

      const end = await bob.client.messages.history(chatId, { limit: 5, around_message_id: sent[9]?.id })
      expect(contents(end.messages)).toEqual(['m8', 'm9', 'm10'])
      expect(end.pagination).toMatchObject({ has_more_before: true, has_more_after: false })
    })

    it('refuses an anchor in another chat (404), two anchors at once and a limit over 100 (400)', async () => {
      const { ada, chatId, sent } = await tenMessages()
      const cyd = await createUser(server)
      const { chat: other } = await ada.client.chats.open(cyd.id)
      const elsewhere = await ada.client.messages.send(other.id, text('elsewhere'))

      for (const anchor of ['before_message_id', 'after_message_id', 'around_message_id']) {
        const answer = await ada.client.raw('GET', `/api/chats/${chatId}/messages`, {
          query: { [anchor]: elsewhere.message.id },
        })
        expect([anchor, answer.status, codeOf(answer)]).toEqual([anchor, 404, 'not_found'])
      }
      const both = await ada.client.raw('GET', `/api/chats/${chatId}/messages`, {
        query: { before_message_id: sent[5]?.id, after_message_id: sent[1]?.id },
      })
      expect([both.status, codeOf(both)]).toEqual([400, 'validation_error'])
      const tooMany = await ada.client.raw('GET', `/api/chats/${chatId}/messages`, { query: { limit: 101 } })
      expect([tooMany.status, codeOf(tooMany)]).toEqual([400, 'validation_error'])
    })
  })

  describe('read watermarks', () => {
    it('moves the read watermark forward only, and unread_count follows it', async () => {
      const { ada, bob, chatId } = await pair()
      const sent = await sendMany(ada, chatId, 3)
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(3)
      // Your own messages are never unread for you.
      expect((await ada.client.chats.get(chatId)).chat.unread_count).toBe(0)

      const read = await bob.client.messages.read(chatId, sent[1]?.id ?? 0)
      expect(read).toEqual({
        success: true,
        read_seq: 2,
        read_at: new Date(server.clock.now()).toISOString(),
      })
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(1)

      const back = await bob.client.messages.read(chatId, sent[0]?.id ?? 0)
      expect(back.read_seq).toBe(2)
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(1)

      // The sender sees blue ticks up to the watermark.
      const { messages } = await ada.client.messages.history(chatId)
      expect(messages.map((message) => message.status)).toEqual(['read', 'read', 'sent'])

      // Both logs carry the move once (the repeated, backward read appended nothing).
      for (const user of [ada, bob]) {
        const reads = (await syncAll(user.client)).filter((update) => update.type === 'message:read')
        expect(reads.map((update) => update.data)).toEqual([
          { chat_id: chatId, user_id: bob.id, read_seq: 2, read_at: read.read_at },
        ])
      }

      await bob.client.messages.read(chatId, sent[2]?.id ?? 0)
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(0)
    })

    it('refuses to mark read a message of another chat (404)', async () => {
      const { ada, bob, chatId } = await pair()
      const cyd = await createUser(server)
      const { chat: other } = await bob.client.chats.open(cyd.id)
      const elsewhere = await bob.client.messages.send(other.id, text('elsewhere'))
      await ada.client.messages.send(chatId, text('here'))
      const answer = await bob.client.raw('PUT', `/api/chats/${chatId}/read`, {
        body: { message_id: elsewhere.message.id },
      })
      expect([answer.status, codeOf(answer)]).toEqual([404, 'not_found'])
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(1)
    })
  })

  describe('blocking', () => {
    it('never delivers a blocked sender’s messages, and does not tell the sender', async () => {
      const { ada, bob, chatId } = await pair()
      await ada.client.messages.send(chatId, text('before the block'))
      await bob.client.contacts.block(ada.id)

      const answer = await sendRaw(ada.client, chatId, text('are you there?'))
      expect(answer.status).toBe(201)
      expect(answer.message).toMatchObject({ content: 'are you there?', status: 'sent', seq: 2 })
      // The sender's own view is an ordinary conversation.
      expect((await ada.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'before the block',
        'are you there?',
      ])

      // Bob sees neither the message nor an update for it, nor an unread badge.
      expect((await bob.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'before the block',
      ])
      expect(newMessagesIn(await syncAll(bob.client), chatId).map((message) => message.content)).toEqual([
        'before the block',
      ])
      expect((await bob.client.chats.get(chatId)).chat.unread_count).toBe(1)
      // Nor can he reach it by id.
      const hidden = await bob.client.raw('PUT', `/api/chats/${chatId}/read`, {
        body: { message_id: answer.message?.id },
      })
      expect(hidden.status).toBe(404)
      const anchored = await bob.client.raw('GET', `/api/chats/${chatId}/messages`, {
        query: { around_message_id: answer.message?.id },
      })
      expect([anchored.status, codeOf(anchored)]).toEqual([404, 'not_found'])

      // After unblocking, new messages arrive again; what was sent during the block stays undelivered.
      await bob.client.contacts.unblock(ada.id)
      await ada.client.messages.send(chatId, text('after the block'))
      expect((await bob.client.messages.history(chatId)).messages.map((message) => message.content)).toEqual([
        'before the block',
        'after the block',
      ])
      const bobLog = await syncAll(bob.client)
      expect(newMessagesIn(bobLog, chatId).map((message) => message.content)).toEqual([
        'before the block',
        'after the block',
      ])
      expect(bobLog.map((update) => update.seq)).toEqual(range(1, bobLog.length))
    })

    it('still delivers the blocker’s own messages to their log and the sender’s', async () => {
      const { ada, bob, chatId } = await pair()
      await bob.client.contacts.block(ada.id)
      const fromBob = await sendRaw(bob.client, chatId, text('I blocked you but I may still write'))
      expect(fromBob.status).toBe(201)
      expect(newMessagesIn(await syncAll(bob.client), chatId).map((message) => message.id)).toEqual([
        fromBob.message?.id,
      ])
    })
  })

  describe('per-chat order', () => {
    it('gives both members the same gap-free order under concurrent sends from both', async () => {
      const { ada, bob, chatId } = await pair()
      const perUser = 25
      const answers = await Promise.all([
        ...range(1, perUser).map((i) => sendRaw(ada.client, chatId, text(`ada ${i}`))),
        ...range(1, perUser).map((i) => sendRaw(bob.client, chatId, text(`bob ${i}`))),
      ])
      expect(answers.every((answer) => answer.status === 201)).toBe(true)

      const adaView = await fullHistory(ada.client, chatId)
      const bobView = await fullHistory(bob.client, chatId)
      expect(adaView.map((message) => message.seq)).toEqual(range(1, 2 * perUser))
      expect(order(bobView)).toEqual(order(adaView))
      // Every answered send is in the history with the seq it was answered with.
      expect(new Map(order(adaView) as Array<[number, number]>)).toEqual(
        new Map(answers.map((answer) => [answer.message?.seq ?? 0, answer.message?.id ?? 0])),
      )
      // Live delivery agrees with history: each member's log lists the chat's messages in seq order.
      for (const user of [ada, bob]) {
        const live = newMessagesIn(await syncAll(user.client), chatId)
        expect(order(live)).toEqual(order(adaView))
      }
    })
  })
})
