import crypto from 'node:crypto'
import type { SearchResult } from '@parley/protocol'
import type { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/** A made-up word no other test uses, so each test searches only what it wrote. */
const word = () =>
  Array.from(crypto.randomBytes(10), (byte) => String.fromCharCode(97 + (byte % 26))).join('')

const say = async (client: RestClient, chatId: number, content: string) =>
  (await client.messages.send(chatId, { message_type: 'text', content, client_msg_id: crypto.randomUUID() }))
    .message

const contents = (results: SearchResult[]) => results.map((result) => result.message.content)

describe.each(MODES)('message search (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let bob: TestUser
  let chatId: number
  beforeAll(async () => {
    server = await startServer(mode)
    ada = await createUser(server, { name: 'Ada' })
    bob = await createUser(server, { name: 'Bob' })
    chatId = (await ada.client.chats.open(bob.id)).chat.id
  })
  afterAll(async () => {
    await server?.close()
  })

  it('ranks messages with more hits higher, with a plain-text snippet marking the hits', async () => {
    const fruit = word()
    await say(ada.client, chatId, `one ${fruit} and then lots of other words that are not it`)
    const best = await say(bob.client, chatId, `${fruit} ${fruit} ${fruit}`)
    await say(ada.client, chatId, `${fruit} twice: ${fruit}`)
    await say(ada.client, chatId, 'nothing to see here')

    const { results, pagination } = await ada.client.search(fruit)
    expect(contents(results)).toEqual([
      `${fruit} ${fruit} ${fruit}`,
      `${fruit} twice: ${fruit}`,
      `one ${fruit} and then lots of other words that are not it`,
    ])
    expect(pagination).toEqual({ next_cursor: null, has_more: false })
    const ranks = results.map((result) => result.rank)
    expect(ranks[0]).toBeGreaterThan(ranks[1] as number)
    expect(ranks[1]).toBeGreaterThan(ranks[2] as number)
    const top = results[0] as SearchResult
    expect(top.chat_id).toBe(chatId)
    // The message comes in the same shape as in history (which adds the viewer's own receipt times).
    const inHistory = (await ada.client.messages.history(chatId)).messages.find(
      (message) => message.id === best.id,
    )
    expect(inHistory).toBeDefined()
    const { delivered_at: _delivered, read_at: _read, ...shared } = inHistory ?? {}
    expect(top.message).toEqual(shared)
    expect(top.snippet).toBe(`<<${fruit}>> <<${fruit}>> <<${fruit}>>`)
  })

  it('matches every word, each as a word prefix, case-insensitively; markup stays text', async () => {
    const a = word()
    const b = word()
    await say(ada.client, chatId, `${a} alone`)
    await say(ada.client, chatId, `<b>${a.toUpperCase()}</b> with ${b}`)
    await say(ada.client, chatId, `${b} alone`)

    expect(contents((await ada.client.search(a)).results).sort()).toEqual(
      [`${a} alone`, `<b>${a.toUpperCase()}</b> with ${b}`].sort(),
    )
    // A prefix of a word finds it; a piece from the middle of a word does not.
    expect((await ada.client.search(a.slice(0, 5))).results).toHaveLength(2)
    expect((await ada.client.search(a.slice(3))).results).toHaveLength(0)
    // Several words: all of them must be there, in any order.
    const both = await ada.client.search(`${b} ${a.slice(0, 6)}`)
    expect(contents(both.results)).toEqual([`<b>${a.toUpperCase()}</b> with ${b}`])
    // The snippet is the text as sent (its "<b>" is the sender's text, not ours), hits between << >>.
    expect(both.results[0]?.snippet).toBe(`<b><<${a.toUpperCase()}>></b> with <<${b}>>`)
  })

  it('cuts a long text to a window of words around the hits, marked with …', async () => {
    const a = word()
    const words = Array.from({ length: 40 }, (_, index) => (index === 20 ? a : `f${index}`))
    await say(ada.client, chatId, `${words.join(' ')}.`)
    const [hit] = (await ada.client.search(a)).results
    const shown = words.slice(17, 33).map((w) => (w === a ? `<<${a}>>` : w))
    expect(hit?.snippet).toBe(`…${shown.join(' ')}…`)

    // Near the end: the window ends with the text, punctuation included.
    const b = word()
    const tail = Array.from({ length: 20 }, (_, index) => (index === 18 ? b : `g${index}`))
    await say(ada.client, chatId, `${tail.join(' ')}!`)
    const [last] = (await ada.client.search(b)).results
    expect(last?.snippet).toBe(`…${tail.slice(4, 18).join(' ')} <<${b}>> g19!`)
  })

  it('treats full-text syntax in q as plain words and refuses a q without any', async () => {
    const a = word()
    await say(ada.client, chatId, `the ${a} report`)
    // Words of FTS syntax are words like any other: "or" must be in the message too.
    expect((await ada.client.search(`${a} OR report`)).results).toEqual([])
    expect(contents((await ada.client.search(`${a} AND`)).results)).toEqual([])
    for (const q of [
      `"${a}`,
      `${a}*`,
      `${a} | (`,
      `(${a})`,
      `${a}:* & !`,
      `'${a}'`,
      `-${a}^`,
      `${a}"`,
      `{${a}}`,
    ]) {
      const answer = await ada.client.raw('GET', '/api/search', { query: { q } })
      expect(answer.status, q).toBe(200)
      expect(contents((answer.body as { results: SearchResult[] }).results), q).toEqual([`the ${a} report`])
    }
    for (const q of ['', '   ', '"*"', '()*:&|!']) {
      const answer = await ada.client.raw('GET', '/api/search', { query: { q } })
      expect(answer.status, JSON.stringify(q)).toBe(400)
      expect(answer.body).toMatchObject({ success: false, error: { code: 'validation_error' } })
    }
    expect((await ada.client.raw('GET', '/api/search', {})).status).toBe(400)
    expect((await ada.client.raw('GET', '/api/search', { query: { q: 'x'.repeat(201) } })).status).toBe(400)
    expect((await ada.client.raw('GET', '/api/search', { query: { q: a, cursor: 'bogus' } })).status).toBe(
      400,
    )
    expect((await server.client().raw('GET', '/api/search', { query: { q: a } })).status).toBe(401)
  })

  it('searches one chat with chat_id, and answers not_found for a chat that is not yours', async () => {
    const cyd = await createUser(server)
    const other = (await ada.client.chats.open(cyd.id)).chat.id
    const a = word()
    await say(ada.client, chatId, `${a} with bob`)
    await say(ada.client, other, `${a} with cyd`)

    expect(contents((await ada.client.search(a)).results).sort()).toEqual([`${a} with bob`, `${a} with cyd`])
    const inOne = await ada.client.search(a, { chat_id: other })
    expect(contents(inOne.results)).toEqual([`${a} with cyd`])
    expect(inOne.results.map((result) => result.chat_id)).toEqual([other])

    const notMine = await bob.client.raw('GET', '/api/search', { query: { q: a, chat_id: other } })
    expect(notMine.status).toBe(404)
    expect(notMine.body).toMatchObject({ success: false, error: { code: 'not_found' } })
    const missing = await ada.client.raw('GET', '/api/search', { query: { q: a, chat_id: 99999999 } })
    expect(missing.status).toBe(404)
  })

  it('finds nothing in chats the caller is not a member of, or has left', async () => {
    const eve = await createUser(server)
    const a = word()
    await say(ada.client, chatId, `secret ${a}`)
    expect((await eve.client.search(a)).results).toEqual([])

    const { group } = await ada.client.groups.create({ name: 'Club', participants: [eve.id] })
    await say(ada.client, group.id, `club ${a}`)
    expect(contents((await eve.client.search(a)).results)).toEqual([`club ${a}`])
    expect((await eve.client.raw('POST', `/api/groups/${group.id}/leave`)).status).toBe(200)
    expect((await eve.client.search(a)).results).toEqual([])
    // Ada still finds both.
    expect((await ada.client.search(a)).results).toHaveLength(2)
  })

  it('follows edits and leaves out deleted messages and messages hidden from the caller', async () => {
    const before = word()
    const after = word()
    const gone = word()
    const mine = word()
    const edited = await say(ada.client, chatId, `${before} draft`)
    expect(
      (await ada.client.raw('PUT', `/api/messages/${edited.id}`, { body: { content: `${after} final` } }))
        .status,
    ).toBe(200)
    expect((await bob.client.search(before)).results).toEqual([])
    expect(contents((await bob.client.search(after)).results)).toEqual([`${after} final`])

    const deleted = await say(ada.client, chatId, `${gone} oops`)
    expect((await bob.client.search(gone)).results).toHaveLength(1)
    const everyone = await ada.client.raw('DELETE', `/api/messages/${deleted.id}`, {
      query: { for: 'everyone' },
    })
    expect(everyone.status).toBe(200)
    expect((await bob.client.search(gone)).results).toEqual([])
    expect((await ada.client.search(gone)).results).toEqual([])

    const hidden = await say(bob.client, chatId, `${mine} for ada`)
    expect(
      (await ada.client.raw('DELETE', `/api/messages/${hidden.id}`, { query: { for: 'me' } })).status,
    ).toBe(200)
    expect((await ada.client.search(mine)).results).toEqual([])
    // Deleting for herself hides it from Ada only.
    expect(contents((await bob.client.search(mine)).results)).toEqual([`${mine} for ada`])

    // A blocked sender's message is never delivered to the one who blocked them: not found either.
    const blocked = word()
    const eve = await createUser(server)
    await ada.client.contacts.block(eve.id)
    const withEve = (await eve.client.chats.open(ada.id)).chat.id
    await say(eve.client, withEve, `${blocked} hello`)
    expect((await ada.client.search(blocked)).results).toEqual([])
    expect((await eve.client.search(blocked)).results).toHaveLength(1)
  })

  it('pages by (rank, id) with an opaque cursor: no duplicate, no gap', async () => {
    const a = word()
    const texts = [
      `${a}`,
      `${a} ${a}`,
      `${a} one`,
      `${a} two`,
      `${a} three`,
      `${a} ${a} ${a}`,
      `${a} one`,
      `${a} one`,
    ]
    for (const text of texts) await say(ada.client, chatId, text)
    const whole = (await ada.client.search(a, { limit: 50 })).results
    expect(whole).toHaveLength(texts.length)
    // Best first; equal ranks (the identical "one" messages) newest first.
    for (let index = 1; index < whole.length; index += 1) {
      const previous = whole[index - 1] as SearchResult
      const current = whole[index] as SearchResult
      expect(previous.rank).toBeGreaterThanOrEqual(current.rank)
      if (previous.rank === current.rank) expect(previous.message.id).toBeGreaterThan(current.message.id)
    }
    for (const limit of [1, 2, 3]) {
      const ids: number[] = []
      let cursor: string | undefined
      for (let page = 0; page < 20; page += 1) {
        const answer = await ada.client.search(a, { limit, ...(cursor ? { cursor } : {}) })
        expect(answer.results.length).toBeLessThanOrEqual(limit)
        ids.push(...answer.results.map((result) => result.message.id))
        if (!answer.pagination.next_cursor) break
        expect(answer.pagination.has_more).toBe(true)
        cursor = answer.pagination.next_cursor
      }
      expect(ids).toEqual(whole.map((result) => result.message.id))
    }
  })
})
