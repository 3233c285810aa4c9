import { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, newMessagesIn, range, syncAll, text } from './helpers/messaging.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

describe.each(MODES)('sync (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** Ada opens a chat with Bob; Ada sends two messages, Bob answers once. */
  async function conversation() {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const first = await ada.client.messages.send(chat.id, text('one'))
    const second = await ada.client.messages.send(chat.id, text('two'))
    const third = await bob.client.messages.send(chat.id, text('three'))
    return { ada, bob, chatId: chat.id, ids: [first, second, third].map((sent) => sent.message.id) }
  }

  /** The user's newest seq, as a client learns it from a first full sync. */
  async function head(user: TestUser): Promise<number> {
    const page = await user.client.sync(0, { limit: 1000 })
    if (!('updates' in page)) throw new Error('unexpected resync_required')
    return page.next_seq
  }

  it('replays from 0: chat:created, then message:new in seq order with no gap', async () => {
    const { ada, bob, chatId, ids } = await conversation()

    const adaPage = await ada.client.sync(0)
    expect(adaPage).toMatchObject({ success: true, next_seq: 4, has_more: false })
    if (!('updates' in adaPage)) throw new Error('unexpected resync_required')
    expect(adaPage.updates.map((update) => [update.seq, update.type])).toEqual([
      [1, 'chat:created'],
      [2, 'message:new'],
      [3, 'message:new'],
      [4, 'message:new'],
    ])
    expect(adaPage.updates[0]).toMatchObject({
      data: {
        chat: {
          id: chatId,
          type: 'private',
          members: expect.arrayContaining([{ id: ada.id, role: 'member' }]),
        },
      },
    })
    expect(
      newMessagesIn(adaPage.updates, chatId).map((message) => [message.seq, message.id, message.content]),
    ).toEqual([
      [1, ids[0], 'one'],
      [2, ids[1], 'two'],
      [3, ids[2], 'three'],
    ])

    // The other person's chat appears with its first message: their log starts there, at seq 1.
    const bobLog = await syncAll(bob.client)
    expect(bobLog.map((update) => [update.seq, update.type])).toEqual([
      [1, 'message:new'],
      [2, 'message:new'],
      [3, 'message:new'],
    ])
    expect(newMessagesIn(bobLog, chatId).map((message) => message.id)).toEqual(ids)
  })

  it('pages with limit, has_more and next_seq, and resumes from next_seq', async () => {
    const { ada } = await conversation()
    const first = await ada.client.sync(0, { limit: 3 })
    expect(first).toMatchObject({ next_seq: 3, has_more: true })
    if (!('updates' in first)) throw new Error('unexpected resync_required')
    expect(first.updates.map((update) => update.seq)).toEqual([1, 2, 3])

    const second = await ada.client.sync(first.next_seq, { limit: 3 })
    expect(second).toMatchObject({ next_seq: 4, has_more: false })
    if (!('updates' in second)) throw new Error('unexpected resync_required')
    expect(second.updates.map((update) => update.seq)).toEqual([4])

    // Caught up: nothing new, and the cursor stays where it is.
    expect(await ada.client.sync(second.next_seq)).toEqual({
      success: true,
      updates: [],
      next_seq: 4,
      has_more: false,
    })

    // An exact page boundary still says whether more follows.
    const exact = await ada.client.sync(0, { limit: 4 })
    expect(exact).toMatchObject({ next_seq: 4, has_more: false })
  })

  it('answers a brand-new user with an empty log, not resync_required', async () => {
    const newcomer = await createUser(server)
    expect(await newcomer.client.sync(0)).toEqual({
      success: true,
      updates: [],
      next_seq: 0,
      has_more: false,
    })
  })

  it('answers a cursor beyond the user’s newest seq with resync_required and the current seq', async () => {
    const { ada, bob } = await conversation()
    expect(await ada.client.sync(5)).toEqual({ success: true, resync_required: true, current_seq: 4 })
    expect(await bob.client.sync(1000)).toEqual({ success: true, resync_required: true, current_seq: 3 })
    // The answer is the user's own: another user's seq does not leak or count.
    const newcomer = await createUser(server)
    expect(await newcomer.client.sync(1)).toEqual({ success: true, resync_required: true, current_seq: 0 })
  })

  it('refuses bad cursors and options (400) and a signed-out caller (401)', async () => {
    const ada = await createUser(server)
    for (const query of [
      { since: -1 },
      { since: 'abc' },
      { since: 0, limit: 0 },
      { since: 0, limit: 1001 },
      { since: 0, timeout: 61 },
      {},
    ]) {
      const answer = await ada.client.raw('GET', '/api/sync', { query })
      expect([JSON.stringify(query), answer.status, codeOf(answer)]).toEqual([
        JSON.stringify(query),
        400,
        'validation_error',
      ])
    }
    const anonymous = await server.client().raw('GET', '/api/sync', { query: { since: 0 } })
    expect(anonymous.status).toBe(401)
  })

  it('keeps each user’s log to what they must see', async () => {
    const { ada, chatId } = await conversation()
    const eve = await createUser(server)
    const { chat: other } = await ada.client.chats.open(eve.id)
    await ada.client.messages.send(other.id, text('for Eve'))
    const eveLog = await syncAll(eve.client)
    expect(eveLog.map((update) => update.type)).toEqual(['message:new'])
    expect(newMessagesIn(eveLog, chatId)).toEqual([])
    expect(newMessagesIn(eveLog, other.id).map((message) => message.content)).toEqual(['for Eve'])
  })

  describe('long-poll', () => {
    it('wakes with a message sent while it waits', async () => {
      const { ada, bob, chatId } = await conversation()
      const since = await head(bob)
      const poll = bob.client.sync(since, { timeout: 10 })
      const sent = await ada.client.messages.send(chatId, text('are you there?'))
      const page = await poll
      if (!('updates' in page)) throw new Error('unexpected resync_required')
      expect(page.updates.map((update) => [update.seq, update.type])).toEqual([[since + 1, 'message:new']])
      expect(newMessagesIn(page.updates, chatId).map((message) => message.id)).toEqual([sent.message.id])
      expect(page.next_seq).toBe(since + 1)
    })

    it('answers at once when updates are already waiting', async () => {
      const { bob } = await conversation()
      // A 60 s timeout that does not wait: were it to wait, the test would time out.
      const page = await bob.client.sync(1, { timeout: 60 })
      expect(page).toMatchObject({ next_seq: 3, has_more: false })
    })

    it('answers empty after the timeout when nothing happens', async () => {
      const { bob } = await conversation()
      const since = await head(bob)
      const started = performance.now()
      const page = await bob.client.sync(since, { timeout: 1 })
      // It held the request for its timeout rather than answering an empty page at once.
      expect(performance.now() - started).toBeGreaterThanOrEqual(900)
      expect(page).toEqual({
        success: true,
        updates: [],
        next_seq: since,
        has_more: false,
      })
    })

    it('answers resync_required at once for a cursor beyond the log', async () => {
      const { bob } = await conversation()
      expect(await bob.client.sync(99, { timeout: 60 })).toEqual({
        success: true,
        resync_required: true,
        current_seq: 3,
      })
    })
  })

  describe('several devices', () => {
    it('gives the sender’s other device their own message:new, live and on catch-up', async () => {
      const { ada, chatId } = await conversation()
      const phone = new RestClient({ baseUrl: server.url })
      await phone.auth.login({ username: ada.username, password: ada.password })
      const laptop = ada.client

      const since = await head(ada)
      const poll = phone.sync(since, { timeout: 10 })
      const sent = await laptop.messages.send(chatId, text('from my laptop'))
      const live = await poll
      if (!('updates' in live)) throw new Error('unexpected resync_required')
      expect(newMessagesIn(live.updates, chatId).map((message) => [message.id, message.content])).toEqual([
        [sent.message.id, 'from my laptop'],
      ])

      // Both devices read the same log: same seqs, same updates.
      const phoneLog = await syncAll(phone)
      const laptopLog = await syncAll(laptop)
      expect(phoneLog).toEqual(laptopLog)
      expect(phoneLog.map((update) => update.seq)).toEqual(range(1, since + 1))
    })
  })
})
