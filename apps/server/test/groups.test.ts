import type { Message, Update } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UserRepository } from '../src/store/user.repository.ts'
import { createUser, type TestUser } from './helpers/factories.ts'
import { codeOf, fullHistory, syncAll, text } from './helpers/messaging.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const AVATAR = 'https://media.example/avatars/private.jpg'

/** What a system message says, as a client reads it from history or a `message:new`. */
const said = (message: Message) => ({
  type: message.message_type,
  sender_id: message.sender_id,
  ...message.system,
})

/** The system messages of a history (or of a log's `message:new`s), in order. */
const systemEvents = (messages: Message[]) =>
  messages.filter((message) => message.message_type === 'system').map(said)

/** A log's updates as `[type, data]`, with `message:new` reduced to what its system message says. */
const described = (updates: Update[]) =>
  updates.map((update) =>
    update.type === 'message:new'
      ? [update.type, { chat_id: update.data.chat_id, ...said(update.data.message) }]
      : [update.type, update.data],
  )

describe.each(MODES)('groups (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** Reads each user's log position, so a test can ask "what arrived since". */
  async function cursors(...users: TestUser[]): Promise<Map<TestUser, number>> {
    const entries = await Promise.all(
      users.map(async (user) => [user, (await syncAll(user.client)).at(-1)?.seq ?? 0] as const),
    )
    return new Map(entries)
  }
  /**
   * What reached a user's log after their mark, without delivery/read receipts: syncing acknowledges
   * updates, and the receipts that follow are not what these tests are about.
   */
  const since = async (user: TestUser, marks?: Map<TestUser, number>) =>
    (await syncAll(user.client, marks?.get(user) ?? 0)).filter(
      (update) => update.type !== 'message:delivered' && update.type !== 'message:read',
    )

  type Three = [TestUser, TestUser, TestUser]
  type Four = [TestUser, TestUser, TestUser, TestUser]
  /** Users made one after another, so their ids (the successor's tie-break) follow creation order. */
  async function users(count: 3): Promise<Three>
  async function users(count: 4): Promise<Four>
  async function users(count: number): Promise<TestUser[]> {
    const made: TestUser[] = []
    for (let i = 0; i < count; i++) made.push(await createUser(server))
    return made
  }

  describe('create and info', () => {
    it('creates a group: the creator is admin, every member gets chat:created and the opening system message', async () => {
      const [ada, bob, carol] = await users(3)
      const created = await ada.client.raw('POST', '/api/groups', {
        body: {
          name: ' Dev Team ',
          description: 'Development team chat',
          participants: [bob.id, carol.id, ada.id, 999_999],
        },
      })
      expect(created.status).toBe(201)
      const at = new Date(server.clock.now()).toISOString()
      const group = (created.body as { group: { id: number } }).group
      expect(created.body).toEqual({
        success: true,
        group: {
          id: group.id,
          name: 'Dev Team',
          description: 'Development team chat',
          avatar_url: null,
          created_by: ada.id,
          participants_count: 3,
          created_at: at,
          updated_at: at,
        },
        not_added: [{ id: 999_999, reason: 'not_found' }],
      })

      const snapshot = {
        id: group.id,
        type: 'group',
        name: 'Dev Team',
        description: 'Development team chat',
        avatar_url: null,
        created_by: ada.id,
        members: [
          { id: ada.id, role: 'admin' },
          { id: bob.id, role: 'member' },
          { id: carol.id, role: 'member' },
        ],
        created_at: at,
      }
      for (const user of [ada, bob, carol]) {
        expect(described(await since(user))).toEqual([
          ['chat:created', { chat: snapshot }],
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: ada.id,
              event: 'group_created',
              actor_id: ada.id,
              user_ids: [bob.id, carol.id],
            },
          ],
        ])
      }

      // A group is a chat: its id works in the chat routes.
      const { chat } = await bob.client.chats.get(group.id)
      expect(chat).toMatchObject({
        id: group.id,
        type: 'group',
        name: 'Dev Team',
        participants_count: 3,
        role: 'member',
      })
      expect((await ada.client.chats.get(group.id)).chat.role).toBe('admin')
      const history = await fullHistory(carol.client, group.id)
      expect(systemEvents(history)).toEqual([
        {
          type: 'system',
          sender_id: ada.id,
          event: 'group_created',
          actor_id: ada.id,
          user_ids: [bob.id, carol.id],
        },
      ])
    })

    it('shows members, with roles and join times, to members only; avatars follow each member’s privacy', async () => {
      const [ada, bob, carol, stranger] = await users(4)
      await new UserRepository(server.deps.store.db).update(carol.id, { avatar_url: AVATAR })
      await carol.client.users.updatePrivacy({ profile_photo: 'nobody' })
      const joinedAt = new Date(server.clock.now()).toISOString()
      const { group } = await ada.client.groups.create({
        name: 'Book club',
        participants: [bob.id, carol.id],
      })

      const info = await bob.client.groups.get(group.id)
      const expected = {
        id: group.id,
        name: 'Book club',
        description: null,
        avatar_url: null,
        created_by: { id: ada.id, name: ada.username },
        participants_count: 3,
        participants: [
          {
            id: ada.id,
            username: ada.username,
            name: ada.username,
            avatar_url: null,
            role: 'admin',
            joined_at: joinedAt,
          },
          {
            id: bob.id,
            username: bob.username,
            name: bob.username,
            avatar_url: null,
            role: 'member',
            joined_at: joinedAt,
          },
          {
            id: carol.id,
            username: carol.username,
            name: carol.username,
            avatar_url: null,
            role: 'member',
            joined_at: joinedAt,
          },
        ],
        created_at: joinedAt,
        updated_at: joinedAt,
      }
      // Under `group`, and (seed 002) the same fields at the top level.
      expect(info).toEqual({ success: true, group: expected, ...expected })
      // Carol sees her own photo.
      const own = await carol.client.groups.get(group.id)
      expect(own.group.participants.find((p) => p.id === carol.id)?.avatar_url).toBe(AVATAR)

      const outsider = await stranger.client.raw('GET', `/api/groups/${group.id}`)
      expect([outsider.status, codeOf(outsider)]).toEqual([404, 'not_found'])
      // A private chat is not a group.
      const { chat } = await ada.client.chats.open(bob.id)
      const privateChat = await ada.client.raw('GET', `/api/groups/${chat.id}`)
      expect([privateChat.status, codeOf(privateChat)]).toEqual([404, 'not_found'])
    })

    it('lets admins change name and description: members get chat:updated and a system message', async () => {
      const [ada, bob, stranger] = await users(3)
      const { group } = await ada.client.groups.create({
        name: 'Old',
        description: 'before',
        participants: [bob.id],
      })
      const marks = await cursors(ada, bob)

      const asMember = await bob.client.raw('PUT', `/api/groups/${group.id}`, { body: { name: 'Mine' } })
      expect([asMember.status, codeOf(asMember)]).toEqual([403, 'forbidden'])
      const asStranger = await stranger.client.raw('PUT', `/api/groups/${group.id}`, {
        body: { name: 'Mine' },
      })
      expect([asStranger.status, codeOf(asStranger)]).toEqual([404, 'not_found'])
      const blank = await ada.client.raw('PUT', `/api/groups/${group.id}`, { body: { name: '   ' } })
      expect([blank.status, codeOf(blank)]).toEqual([400, 'validation_error'])
      const empty = await ada.client.raw('PUT', `/api/groups/${group.id}`, { body: {} })
      expect(empty.status).toBe(400)
      expect(await since(bob, marks)).toEqual([])

      server.clock.advance(60_000)
      const updated = await ada.client.groups.update(group.id, { name: 'New', description: null })
      expect(updated.group).toMatchObject({
        id: group.id,
        name: 'New',
        description: null,
        participants_count: 2,
        updated_at: new Date(server.clock.now()).toISOString(),
      })
      expect((await bob.client.groups.get(group.id)).group).toMatchObject({ name: 'New', description: null })
      for (const user of [ada, bob]) {
        expect(described(await since(user, marks))).toEqual([
          [
            'chat:updated',
            {
              chat: expect.objectContaining({
                id: group.id,
                name: 'New',
                description: null,
                members: [
                  { id: ada.id, role: 'admin' },
                  { id: bob.id, role: 'member' },
                ],
              }),
            },
          ],
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: ada.id,
              event: 'group_updated',
              actor_id: ada.id,
              user_ids: [],
            },
          ],
        ])
      }

      // The same values again change nothing and tell no one.
      const again = await cursors(ada, bob)
      await ada.client.groups.update(group.id, { name: 'New' })
      expect(await since(bob, again)).toEqual([])
      expect(await since(ada, again)).toEqual([])
    })
  })

  describe('members', () => {
    it('adds members: they get chat:created and the full history, the others chat:member_added', async () => {
      const [ada, bob, dave, erin] = await users(4)
      const { group } = await ada.client.groups.create({ name: 'Team', participants: [bob.id] })
      const earlier = await bob.client.messages.send(group.id, text('before dave'))
      await erin.client.contacts.block(ada.id)
      const marks = await cursors(ada, bob, dave, erin)

      const asMember = await bob.client.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: [dave.id] },
      })
      expect([asMember.status, codeOf(asMember)]).toEqual([403, 'forbidden'])

      const answer = await ada.client.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: [dave.id, bob.id, 999_999, erin.id, dave.id] },
      })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({
        success: true,
        added_members: [{ id: dave.id, name: dave.username }],
        not_added: [
          { id: bob.id, reason: 'already_member' },
          { id: 999_999, reason: 'not_found' },
          { id: erin.id, reason: 'not_allowed' },
        ],
      })

      const system = {
        chat_id: group.id,
        type: 'system',
        sender_id: ada.id,
        event: 'members_added',
        actor_id: ada.id,
        user_ids: [dave.id],
      }
      for (const user of [ada, bob]) {
        expect(described(await since(user, marks))).toEqual([
          ['chat:member_added', { chat_id: group.id, user_ids: [dave.id], actor_id: ada.id }],
          ['message:new', system],
        ])
      }
      expect(described(await since(dave, marks))).toEqual([
        [
          'chat:created',
          {
            chat: expect.objectContaining({
              id: group.id,
              type: 'group',
              name: 'Team',
              members: [
                { id: ada.id, role: 'admin' },
                { id: bob.id, role: 'member' },
                { id: dave.id, role: 'member' },
              ],
            }),
          },
        ],
        ['message:new', system],
      ])
      // The user who blocked the admin learns nothing.
      expect(await since(erin, marks)).toEqual([])
      const erinLooks = await erin.client.raw('GET', `/api/groups/${group.id}`)
      expect(erinLooks.status).toBe(404)

      // Dave reads what was said before he came, without it counting as unread.
      const history = await fullHistory(dave.client, group.id)
      expect(
        history.map((message) => [
          message.id,
          message.message_type,
          message.content ?? message.system?.event,
        ]),
      ).toEqual([
        [history[0]?.id, 'system', 'group_created'],
        [earlier.message.id, 'text', 'before dave'],
        [history[2]?.id, 'system', 'members_added'],
      ])
      expect((await dave.client.chats.get(group.id)).chat).toMatchObject({
        participants_count: 3,
        unread_count: 0,
      })
      // And he takes part from now on.
      await dave.client.messages.send(group.id, text('hi all'))
      expect((await fullHistory(bob.client, group.id)).at(-1)).toMatchObject({
        sender_id: dave.id,
        content: 'hi all',
      })
    })

    it('removes a member: they get chat:member_removed and lose the chat; re-adding brings it back', async () => {
      const [ada, bob, carol] = await users(3)
      const { group } = await ada.client.groups.create({ name: 'Team', participants: [bob.id, carol.id] })
      await bob.client.messages.send(group.id, text('hello'))
      const marks = await cursors(ada, bob, carol)

      const asMember = await bob.client.raw('DELETE', `/api/groups/${group.id}/members/${carol.id}`)
      expect([asMember.status, codeOf(asMember)]).toEqual([403, 'forbidden'])

      expect(await ada.client.groups.removeMember(group.id, carol.id)).toEqual({
        success: true,
        message: 'Member removed successfully',
      })
      const removed = { chat_id: group.id, user_id: carol.id, actor_id: ada.id, reason: 'removed' }
      for (const user of [ada, bob]) {
        expect(described(await since(user, marks))).toEqual([
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: ada.id,
              event: 'member_removed',
              actor_id: ada.id,
              user_ids: [carol.id],
            },
          ],
          ['chat:member_removed', removed],
        ])
      }
      expect(described(await since(carol, marks))).toEqual([['chat:member_removed', removed]])

      // Carol can neither read nor write the group any more, nor manage it.
      for (const response of [
        await carol.client.raw('GET', `/api/chats/${group.id}/messages`),
        await carol.client.raw('POST', `/api/chats/${group.id}/messages`, { body: text('still here?') }),
        await carol.client.raw('GET', `/api/groups/${group.id}`),
        await carol.client.raw('POST', `/api/groups/${group.id}/leave`),
      ]) {
        expect([response.status, codeOf(response)]).toEqual([404, 'not_found'])
      }
      // Nor does she hear what is said there.
      const afterRemoval = await cursors(carol)
      await bob.client.messages.send(group.id, text('carol is gone'))
      expect(await since(carol, afterRemoval)).toEqual([])
      // Removing someone who is not a member is not_found.
      const again = await ada.client.raw('DELETE', `/api/groups/${group.id}/members/${carol.id}`)
      expect([again.status, codeOf(again)]).toEqual([404, 'not_found'])
      expect((await ada.client.groups.get(group.id)).group.participants.map((p) => p.id)).toEqual([
        ada.id,
        bob.id,
      ])

      // Added back, she gets the chat again with all of its history.
      const back = await cursors(carol)
      expect((await ada.client.groups.addMembers(group.id, [carol.id])).added_members).toEqual([
        { id: carol.id, name: carol.username },
      ])
      expect((await since(carol, back)).map((update) => update.type)).toEqual(['chat:created', 'message:new'])
      const history = await fullHistory(carol.client, group.id)
      expect(history.map((message) => message.content ?? message.system?.event)).toEqual([
        'group_created',
        'hello',
        'member_removed',
        'carol is gone',
        'members_added',
      ])
      expect((await carol.client.groups.get(group.id)).group.participants.at(-1)).toMatchObject({
        id: carol.id,
        role: 'member',
      })
    })

    it('lets a member leave (also by removing themselves); the others are told', async () => {
      const [ada, bob, carol] = await users(3)
      const { group } = await ada.client.groups.create({ name: 'Team', participants: [bob.id, carol.id] })
      const marks = await cursors(ada, bob, carol)

      expect(await bob.client.groups.leave(group.id)).toEqual({
        success: true,
        message: 'Left group successfully',
      })
      const left = { chat_id: group.id, user_id: bob.id, actor_id: bob.id, reason: 'left' }
      expect(described(await since(ada, marks))).toEqual([
        [
          'message:new',
          {
            chat_id: group.id,
            type: 'system',
            sender_id: bob.id,
            event: 'member_left',
            actor_id: bob.id,
            user_ids: [bob.id],
          },
        ],
        ['chat:member_removed', left],
      ])
      expect(described(await since(bob, marks))).toEqual([['chat:member_removed', left]])

      expect(await carol.client.groups.removeMember(group.id, carol.id)).toEqual({
        success: true,
        message: 'Left group successfully',
      })
      expect((await since(ada, marks)).map((update) => update.type).slice(2)).toEqual([
        'message:new',
        'chat:member_removed',
      ])
      expect(
        systemEvents(await fullHistory(ada.client, group.id)).map((event) => [event.event, event.user_ids]),
      ).toEqual([
        ['group_created', [bob.id, carol.id]],
        ['member_left', [bob.id]],
        ['member_left', [carol.id]],
      ])
      expect((await ada.client.groups.get(group.id)).group.participants_count).toBe(1)
      const gone = await bob.client.raw('GET', `/api/chats/${group.id}`)
      expect(gone.status).toBe(404)
    })
  })

  describe('admins', () => {
    it('promotes and demotes; only admins may, and the only admin cannot step down', async () => {
      const [ada, bob, carol] = await users(3)
      const { group } = await ada.client.groups.create({ name: 'Team', participants: [bob.id, carol.id] })
      const marks = await cursors(ada, bob, carol)

      const byMember = await bob.client.raw('PUT', `/api/groups/${group.id}/admins/${bob.id}`)
      expect([byMember.status, codeOf(byMember)]).toEqual([403, 'forbidden'])
      const soleAdmin = await ada.client.raw('DELETE', `/api/groups/${group.id}/admins/${ada.id}`)
      expect([soleAdmin.status, codeOf(soleAdmin)]).toEqual([409, 'conflict'])
      const notMember = await ada.client.raw('PUT', `/api/groups/${group.id}/admins/999999`)
      expect([notMember.status, codeOf(notMember)]).toEqual([404, 'not_found'])
      expect(await since(carol, marks)).toEqual([])

      expect(await ada.client.groups.promote(group.id, bob.id)).toEqual({
        success: true,
        member: { id: bob.id, role: 'admin' },
      })
      for (const user of [ada, bob, carol]) {
        expect(described(await since(user, marks))).toEqual([
          ['chat:member_role', { chat_id: group.id, user_id: bob.id, role: 'admin', actor_id: ada.id }],
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: ada.id,
              event: 'admin_promoted',
              actor_id: ada.id,
              user_ids: [bob.id],
            },
          ],
        ])
      }
      // Bob now manages the group; promoting him again changes nothing.
      await bob.client.groups.update(group.id, { description: 'run by two' })
      const afterPromotion = await cursors(carol)
      await ada.client.groups.promote(group.id, bob.id)
      expect(await since(carol, afterPromotion)).toEqual([])

      // With two admins, Ada may step down; then she can no longer manage.
      await ada.client.groups.demote(group.id, ada.id)
      expect(described(await since(carol, afterPromotion))).toEqual([
        ['chat:member_role', { chat_id: group.id, user_id: ada.id, role: 'member', actor_id: ada.id }],
        [
          'message:new',
          {
            chat_id: group.id,
            type: 'system',
            sender_id: ada.id,
            event: 'admin_demoted',
            actor_id: ada.id,
            user_ids: [ada.id],
          },
        ],
      ])
      const demoted = await ada.client.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: [carol.id] },
      })
      expect([demoted.status, codeOf(demoted)]).toEqual([403, 'forbidden'])
      expect((await carol.client.groups.get(group.id)).group.participants.map((p) => [p.id, p.role])).toEqual(
        [
          [ada.id, 'member'],
          [bob.id, 'admin'],
          [carol.id, 'member'],
        ],
      )
    })

    it('when the last admin leaves, the longest-standing member becomes admin', async () => {
      // Carol's account is older (lower id) but she joins later: Bob has been there longest.
      const [carol, ada, bob] = await users(3)
      const { group } = await ada.client.groups.create({ name: 'Team', participants: [bob.id] })
      server.clock.advance(60_000)
      await ada.client.groups.addMembers(group.id, [carol.id])
      const marks = await cursors(ada, bob, carol)

      await ada.client.groups.leave(group.id)
      for (const user of [bob, carol]) {
        expect(described(await since(user, marks))).toEqual([
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: ada.id,
              event: 'member_left',
              actor_id: ada.id,
              user_ids: [ada.id],
            },
          ],
          ['chat:member_removed', { chat_id: group.id, user_id: ada.id, actor_id: ada.id, reason: 'left' }],
          ['chat:member_role', { chat_id: group.id, user_id: bob.id, role: 'admin', actor_id: null }],
          [
            'message:new',
            {
              chat_id: group.id,
              type: 'system',
              sender_id: null,
              event: 'admin_promoted',
              actor_id: null,
              user_ids: [bob.id],
            },
          ],
        ])
      }
      expect((await since(ada, marks)).map((update) => update.type)).toEqual(['chat:member_removed'])
      expect((await carol.client.groups.get(group.id)).group.participants.map((p) => [p.id, p.role])).toEqual(
        [
          [bob.id, 'admin'],
          [carol.id, 'member'],
        ],
      )
      await bob.client.groups.update(group.id, { name: 'Bob’s team' })
    })

    it('among members who joined together, the lowest user id succeeds; concurrent leaves keep one admin', async () => {
      const [ada, bob, carol, dave] = await users(4)
      const { group } = await ada.client.groups.create({
        name: 'Team',
        participants: [dave.id, carol.id, bob.id],
      })
      await ada.client.groups.promote(group.id, dave.id)
      // Both admins leave at once: the remaining members still end up with exactly one admin.
      await Promise.all([ada.client.groups.leave(group.id), dave.client.groups.leave(group.id)])
      expect((await carol.client.groups.get(group.id)).group.participants.map((p) => [p.id, p.role])).toEqual(
        [
          [bob.id, 'admin'],
          [carol.id, 'member'],
        ],
      )
      const roles = (await since(carol)).flatMap((update) =>
        update.type === 'chat:member_role'
          ? [[update.data.user_id, update.data.role, update.data.actor_id]]
          : [],
      )
      expect(roles).toEqual([
        [dave.id, 'admin', ada.id],
        [bob.id, 'admin', null],
      ])
    })
  })

  describe('size limit', () => {
    let small: TestServer
    beforeAll(async () => {
      small = await startServer(mode, { PARLEY_MAX_GROUP_SIZE: '3' })
    })
    afterAll(async () => {
      await small?.close()
    })

    it('counts the creator, refuses whatever would pass the limit, and adds no one then', async () => {
      const ada = await createUser(small)
      const [bob, carol, dave] = [await createUser(small), await createUser(small), await createUser(small)]
      const tooMany = await ada.client.raw('POST', '/api/groups', {
        body: { name: 'Big', participants: [bob.id, carol.id, dave.id] },
      })
      expect(tooMany.status).toBe(400)
      expect(tooMany.body).toMatchObject({
        success: false,
        error: { code: 'validation_error', details: { limit: 3 } },
      })
      expect(await syncAll(bob.client)).toEqual([])

      const { group } = await ada.client.groups.create({ name: 'Small', participants: [bob.id] })
      expect((await ada.client.groups.addMembers(group.id, [carol.id])).added_members).toEqual([
        { id: carol.id, name: carol.username },
      ])
      const full = await ada.client.raw('POST', `/api/groups/${group.id}/members`, {
        body: { user_ids: [dave.id] },
      })
      expect(full.status).toBe(400)
      expect(full.body).toMatchObject({ error: { code: 'validation_error', details: { limit: 3 } } })
      expect((await ada.client.groups.get(group.id)).group.participants_count).toBe(3)
      expect(await syncAll(dave.client)).toEqual([])

      // Someone leaves: there is room again.
      await carol.client.groups.leave(group.id)
      expect((await ada.client.groups.addMembers(group.id, [dave.id])).added_members).toEqual([
        { id: dave.id, name: dave.username },
      ])
    })
  })
})
