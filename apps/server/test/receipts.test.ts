import type { Message, Update } from '@parley/protocol'
import type { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, fullHistory, syncAll, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const ofType = <T extends Update['type']>(updates: Update[], type: T) =>
  updates.filter((update): update is Extract<Update, { type: T }> => update.type === type)

/** How the sender sees their own message's ticks in history. */
async function ticks(client: RestClient, chatId: number, messageId: number) {
  const message = (await fullHistory(client, chatId)).find((m: Message) => m.id === messageId)
  return message && { status: message.status, delivered: message.delivered_count, read: message.read_count }
}

/**
 * A device catching up: reads its whole log, then syncs once more from where it got to, which tells
 * the server it holds everything up to there. Answers that cursor.
 */
async function catchUp(client: RestClient): Promise<number> {
  const cursor = (await syncAll(client)).at(-1)?.seq ?? 0
  await client.sync(cursor)
  return cursor
}

describe.each(MODES)('receipts (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  const now = () => new Date(server.clock.now()).toISOString()

  async function pair(): Promise<{ ada: TestUser; bob: TestUser; chatId: number }> {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, chatId: chat.id }
  }

  it('sent → delivered when the recipient syncs past it → read when they read it', async () => {
    const { ada, bob, chatId } = await pair()
    const { message } = await ada.client.messages.send(chatId, text('are you there?'))
    expect(message.status).toBe('sent')
    expect(await ticks(ada.client, chatId, message.id)).toEqual({
      status: 'sent',
      delivered: null,
      read: null,
    })
    const bobEntry = { id: bob.id, name: bob.username }
    expect((await ada.client.messages.receipts(message.id)).receipts).toEqual([
      { user: bobEntry, delivered_at: null, read_at: null },
    ])

    // Fetching the log is not yet proof of having it; the next sync's `since` is.
    const firstPage = await bob.client.sync(0)
    if (!('updates' in firstPage)) throw new Error('unexpected resync')
    expect(ofType(firstPage.updates, 'message:new').map((u) => u.data.message.id)).toEqual([message.id])
    expect((await ticks(ada.client, chatId, message.id))?.status).toBe('sent')

    server.clock.advance(5_000)
    const deliveredAt = now()
    await bob.client.sync(firstPage.next_seq)
    expect((await ticks(ada.client, chatId, message.id))?.status).toBe('delivered')
    expect((await ada.client.messages.receipts(message.id)).receipts).toEqual([
      { user: bobEntry, delivered_at: deliveredAt, read_at: null },
    ])
    expect(ofType(await syncAll(ada.client), 'message:delivered').map((u) => u.data)).toEqual([
      { chat_id: chatId, user_id: bob.id, delivered_seq: message.seq, delivered_at: deliveredAt },
    ])
    // Bob's own devices are not told about his own acknowledgement.
    expect(ofType(await syncAll(bob.client), 'message:delivered')).toEqual([])

    // Syncing again, or from an older cursor, moves nothing and tells nobody anything new.
    await bob.client.sync(firstPage.next_seq)
    await bob.client.sync(0)
    expect(ofType(await syncAll(ada.client), 'message:delivered')).toHaveLength(1)

    server.clock.advance(5_000)
    const readAt = now()
    await bob.client.messages.read(chatId, message.id)
    expect((await ticks(ada.client, chatId, message.id))?.status).toBe('read')
    expect((await ada.client.messages.receipts(message.id)).receipts).toEqual([
      { user: bobEntry, delivered_at: deliveredAt, read_at: readAt },
    ])
    expect(ofType(await syncAll(ada.client), 'message:read').map((u) => u.data)).toEqual([
      { chat_id: chatId, user_id: bob.id, read_seq: message.seq, read_at: readAt },
    ])
  })

  it('acknowledges only what the device proved it has, and not your own messages', async () => {
    const { ada, bob, chatId } = await pair()
    const { message: first } = await ada.client.messages.send(chatId, text('one'))
    const { message: second } = await ada.client.messages.send(chatId, text('two'))

    const page = await bob.client.sync(0, { limit: 1 })
    if (!('updates' in page)) throw new Error('unexpected resync')
    await bob.client.sync(page.next_seq, { limit: 1 })
    expect(await ticks(ada.client, chatId, first.id)).toMatchObject({ status: 'delivered' })
    expect(await ticks(ada.client, chatId, second.id)).toMatchObject({ status: 'sent' })
    expect(ofType(await syncAll(ada.client), 'message:delivered').map((u) => u.data.delivered_seq)).toEqual([
      first.seq,
    ])

    // Ada catching up on her own messages delivers nothing to anyone.
    await catchUp(ada.client)
    expect(ofType(await syncAll(bob.client), 'message:delivered')).toEqual([])

    // A cursor past the end of the log proves nothing: it acknowledges nothing.
    const beyond = await bob.client.sync(1_000_000)
    expect(beyond).toMatchObject({ resync_required: true })
    expect(await ticks(ada.client, chatId, second.id)).toMatchObject({ status: 'sent' })
    await catchUp(bob.client)
    expect(await ticks(ada.client, chatId, second.id)).toMatchObject({ status: 'delivered' })
  })

  it('in a group: delivered and read counts, status once everyone has it, receipts per member', async () => {
    const [ada, bob, carl] = await Promise.all([createUser(server), createUser(server), createUser(server)])
    const { group } = await ada.client.groups.create({ name: 'Ticks', participants: [bob.id, carl.id] })
    const { message } = await ada.client.messages.send(group.id, text('meeting at 10'))
    expect(await ticks(ada.client, group.id, message.id)).toEqual({ status: 'sent', delivered: 0, read: 0 })

    server.clock.advance(1_000)
    const bobDelivered = now()
    await catchUp(bob.client)
    expect(await ticks(ada.client, group.id, message.id)).toEqual({ status: 'sent', delivered: 1, read: 0 })
    // Only the senders of what was delivered hear of it: Carl sent nothing, so his log stays quiet.
    expect(ofType(await syncAll(carl.client), 'message:delivered')).toEqual([])
    expect(ofType(await syncAll(ada.client), 'message:delivered').map((u) => u.data.user_id)).toEqual([
      bob.id,
    ])

    server.clock.advance(1_000)
    await catchUp(carl.client)
    expect(await ticks(ada.client, group.id, message.id)).toEqual({
      status: 'delivered',
      delivered: 2,
      read: 0,
    })

    server.clock.advance(1_000)
    const bobRead = now()
    await bob.client.messages.read(group.id, message.id)
    expect(await ticks(ada.client, group.id, message.id)).toEqual({
      status: 'delivered',
      delivered: 2,
      read: 1,
    })

    const { receipts } = await ada.client.messages.receipts(message.id)
    expect(receipts).toHaveLength(2)
    expect(receipts).toEqual(
      expect.arrayContaining([
        { user: { id: bob.id, name: bob.username }, delivered_at: bobDelivered, read_at: bobRead },
        { user: { id: carl.id, name: carl.username }, delivered_at: expect.any(String), read_at: null },
      ]),
    )

    await carl.client.messages.read(group.id, message.id)
    expect(await ticks(ada.client, group.id, message.id)).toEqual({ status: 'read', delivered: 2, read: 2 })
    // Others see no ticks on Ada's message.
    expect(await ticks(bob.client, group.id, message.id)).toEqual({
      status: null,
      delivered: null,
      read: null,
    })
  })

  it('concurrent sends and acknowledgements in several chats all succeed and end delivered', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => createUser(server)))
    const [ada, ...others] = users as [TestUser, ...TestUser[]]
    const { group } = await ada.client.groups.create({ name: 'Busy', participants: others.map((u) => u.id) })
    const privates = await Promise.all(others.map((other) => ada.client.chats.open(other.id)))
    const chatIds = [group.id, ...privates.map(({ chat }) => chat.id)]

    // Every user sends into the group while every user keeps syncing (acknowledging) from its cursor.
    const sent: Message[] = []
    await Promise.all(
      users.map(async (user, index) => {
        let cursor = 0
        for (let round = 0; round < 5; round++) {
          const chatId = user === ada ? (chatIds[round % chatIds.length] ?? group.id) : group.id
          const [{ message }, page] = await Promise.all([
            user.client.messages.send(chatId, text(`round ${round} from ${index}`)),
            user.client.sync(cursor),
          ])
          sent.push(message)
          if ('updates' in page) cursor = page.next_seq
        }
      }),
    )
    await Promise.all(users.map((user) => catchUp(user.client)))

    for (const message of sent) {
      const sender = users.find((user) => user.id === message.sender_id)
      if (!sender) throw new Error('unknown sender')
      expect([message.id, (await ticks(sender.client, message.chat_id, message.id))?.status]).toEqual([
        message.id,
        'delivered',
      ])
    }
  })

  it('receipts are for the sender only: other members 403, outsiders 404', async () => {
    const { ada, bob, chatId } = await pair()
    const eve = await createUser(server)
    const { message } = await ada.client.messages.send(chatId, text('mine'))
    const byBob = await bob.client.raw('GET', `/api/messages/${message.id}/receipts`)
    expect([byBob.status, codeOf(byBob)]).toEqual([403, 'forbidden'])
    const byEve = await eve.client.raw('GET', `/api/messages/${message.id}/receipts`)
    expect([byEve.status, codeOf(byEve)]).toEqual([404, 'not_found'])
  })
})
