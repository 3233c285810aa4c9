import crypto from 'node:crypto'
import type { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { image, postForm } from './helpers/media-messages.ts'
import { fullHistory, range, seqsOf, syncAll, text } from './helpers/messaging.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * After a delete for everyone no API serves what the message said: not the log's replay (REST sync,
 * socket catch-up), history, the message itself, its edit history, search, the chat list, nor the
 * preview inside a reply that quoted it. Each surface is searched as the full JSON a client gets.
 */
describe.each(MODES)('deleted content stays deleted (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  const secret = () => `secret${crypto.randomBytes(6).toString('hex')}`

  /** The updates a socket replays from `since` 0 (the catch-up reads the same log as /api/sync). */
  async function socketReplay(user: TestUser): Promise<unknown[]> {
    const socket = await RawSocket.open(server.url, user.auth.tokens.access_token, 0)
    try {
      const ready = socket.frames.find((frame) => frame.op === 'ready') as unknown as { seq: number }
      await socket.next((frame) => frame.op === 'update' && frame.seq === ready.seq)
      return socket.updates()
    } finally {
      socket.close()
    }
  }

  /** Every surface a member can read the message (and its chat) through, as one JSON text. */
  async function everything(user: TestUser, chatId: number, ids: number[], word: string): Promise<string> {
    const client: RestClient = user.client
    const surfaces: unknown[] = [
      await syncAll(client),
      await socketReplay(user),
      await fullHistory(client, chatId),
      (await client.raw('GET', '/api/chats')).body,
      (await client.raw('GET', `/api/chats/${chatId}`)).body,
      (await client.raw('GET', '/api/search', { query: { q: word } })).body,
    ]
    for (const id of ids) {
      surfaces.push((await client.raw('GET', `/api/messages/${id}`)).body)
      surfaces.push((await client.raw('GET', `/api/messages/${id}/edits`)).body)
    }
    return JSON.stringify(surfaces)
  }

  it('after a delete for everyone, no surface shows the text, its earlier versions or a quote of it', async () => {
    const [ada, bob, carol] = await Promise.all([createUser(server), createUser(server), createUser(server)])
    const { group } = await ada.client.groups.create({ name: 'g', participants: [bob.id, carol.id] })
    const word = secret()
    const { message } = await ada.client.messages.send(group.id, text(`${word} first draft`))
    await ada.client.messages.edit(message.id, `${word} second draft`)
    await ada.client.messages.edit(message.id, `${word} final`)
    const { message: reply } = await bob.client.messages.send(
      group.id,
      text('replying to that', { reply_to_message_id: message.id }),
    )
    await bob.client.messages.react(message.id, '👍')
    // Carol leaves before the delete: what she was sent is scrubbed too.
    await carol.client.groups.leave(group.id)

    // The surfaces do carry the text before the delete (the search below is not vacuous).
    expect(JSON.stringify(await syncAll(bob.client))).toContain(word)
    expect(JSON.stringify(await socketReplay(bob))).toContain(word)

    await ada.client.messages.delete(message.id, { for: 'everyone' })

    for (const user of [ada, bob]) {
      expect(await everything(user, group.id, [message.id, reply.id], word)).not.toContain(word)
    }
    expect(JSON.stringify(await syncAll(carol.client))).not.toContain(word)

    // What remains is the placeholder, and the reply with a deleted preview, in every replay.
    const replayed = await syncAll(bob.client)
    const copies = replayed.flatMap((update) =>
      (update.type === 'message:new' || update.type === 'message:edited') &&
      update.data.message.id === message.id
        ? [update.data.message]
        : [],
    )
    expect(copies.length).toBe(3)
    for (const copy of copies) expect(copy).toMatchObject({ deleted: true, content: null, reactions: [] })
    const replyUpdate = replayed.find(
      (update) => update.type === 'message:new' && update.data.message.id === reply.id,
    )
    expect(replyUpdate?.type === 'message:new' && replyUpdate.data.message.reply_to).toMatchObject({
      id: message.id,
      content: null,
      deleted: true,
    })
  })

  it('a private chat: the chat list preview and both replays lose the text', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const word = secret()
    const { message } = await bob.client.messages.send(chat.id, text(`${word} oops`))
    await bob.client.messages.delete(message.id, { for: 'everyone' })
    for (const user of [ada, bob]) {
      expect(await everything(user, chat.id, [message.id], word)).not.toContain(word)
    }
  })

  it('a media message: no surface keeps its caption, attachments or media URLs, nor a reply its thumbnail', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const word = secret()
    const sent = await postForm(server, ada.auth.tokens.access_token, `/api/chats/${chat.id}/messages`, [
      ['message_type', 'image'],
      ['file', await image('png', 7), 'image/png', `${word}.png`],
      ['caption', `${word} caption`],
    ])
    expect(sent.status).toBe(201)
    const message = sent.body.message as { id: number; attachments: Array<{ id: number }> }
    const url = `/api/media/${message.attachments[0]?.id}`
    const { message: reply } = await bob.client.messages.send(
      chat.id,
      text('look', { reply_to_message_id: message.id }),
    )
    // Before the delete the surfaces carry the URL and the file name (the checks below are not vacuous).
    expect(await everything(bob, chat.id, [message.id, reply.id], word)).toContain(url)
    expect(JSON.stringify(await syncAll(bob.client))).toContain(word)

    await ada.client.messages.delete(message.id, { for: 'everyone' })

    for (const user of [ada, bob]) {
      const seen = await everything(user, chat.id, [message.id, reply.id], word)
      expect(seen).not.toContain(word)
      expect(seen).not.toContain(url)
    }
    const copy = (await syncAll(bob.client)).find(
      (update) => update.type === 'message:new' && update.data.message.id === message.id,
    )
    expect(copy?.type === 'message:new' && copy.data.message).toMatchObject({
      deleted: true,
      attachments: [],
      media_url: null,
      thumbnail_url: null,
      media_size: null,
    })
  })

  it('after a delete for me, the deleter’s own replay no longer shows it; the others’ do', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const word = secret()
    const { message } = await bob.client.messages.send(chat.id, text(`${word} hello`))
    await bob.client.messages.edit(message.id, `${word} hello again`)
    const before = await syncAll(ada.client)
    expect(JSON.stringify(before)).toContain(word)

    await ada.client.messages.delete(message.id, { for: 'me' })

    const after = await syncAll(ada.client)
    expect(JSON.stringify(after)).not.toContain(word)
    expect(JSON.stringify(await socketReplay(ada))).not.toContain(word)
    expect(JSON.stringify(await fullHistory(ada.client, chat.id))).not.toContain(word)
    // The log keeps its seqs: the same run, one more entry (this delete), the old ones now say deleted.
    expect(seqsOf(after)).toEqual(range(1, before.length + 1))
    for (const update of after.slice(0, before.length)) {
      const was = before.find((earlier) => earlier.seq === update.seq)
      if (was?.type === 'message:new' && was.data.message.id === message.id) {
        expect(update).toMatchObject({ type: 'message:deleted', data: { message_id: message.id, for: 'me' } })
      }
    }
    // Bob did not delete it: his replay and history still have it.
    expect(JSON.stringify(await syncAll(bob.client))).toContain(word)
    expect(JSON.stringify(await fullHistory(bob.client, chat.id))).toContain(word)
  })
})
