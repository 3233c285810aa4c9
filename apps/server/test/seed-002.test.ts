import type { Message } from '@parley/protocol'
import type { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatRepository } from '../src/store/chat.repository.ts'
import { UserRepository } from '../src/store/user.repository.ts'
import { createPhoneUser } from './helpers/factories.ts'
import { type FormEntry, image, postForm } from './helpers/media-messages.ts'
import { clientMsgId, syncAll } from './helpers/messaging.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/*
 * Seed 002 conformance: every example of its "API Endpoints" section that Parley serves today is
 * replayed as written — method, path, query and body quoted from ../shared/seeds/002_3822490f60d1a586.txt
 * — and the answer must carry every field the example shows, at the path it shows, with the example's
 * type (extra fields are fine). docs/api/seed-002.md maps each example to its route.
 *
 * Only what cannot be taken literally is substituted, in the request and nowhere else:
 * - ids (`/api/chats/1`, `"message_id": 100`, `"user_ids": [111, 222]`) name the scenario's objects;
 * - the seed's phone numbers (`+1234567890`) are not valid numbers, which Parley refuses: each stands
 *   for a valid one of the scenario;
 * - the OTP `123456` stands for the code the server texted;
 * - the seed file's emoji is mojibake (`ðŸ‘`, 👍 read as Windows-1252): it is sent as 👍.
 * The multipart examples (Send Media Message, Upload Avatar, Create Group with an avatar) are replayed
 * as forms with the seed's field names and values, the `[image file]` parts made with sharp. Out of
 * scope here: Status/Stories and Calls (their own issues).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

interface SeedExample {
  /** The seed's request line, path and query as written. */
  request: string
  body?: Json
  status: number
  response: Json
}

/** The seed's examples, quoted. */
const SEED = {
  sendOtp: {
    request: 'POST /api/auth/send-otp',
    body: { phone_number: '+1234567890', country_code: '+1' },
    status: 200,
    response: { success: true, message: 'OTP sent successfully', expires_at: '2024-01-01T12:05:00Z' },
  },
  verifyOtp: {
    request: 'POST /api/auth/verify-otp',
    body: { phone_number: '+1234567890', otp: '123456' },
    status: 200,
    response: {
      success: true,
      user: {
        id: 123,
        phone_number: '+1234567890',
        name: 'John Doe',
        avatar_url: 'https://...',
        about: 'Hey there!',
        created_at: '2024-01-01T12:00:00Z',
      },
      tokens: {
        access_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...',
        refresh_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...',
        expires_at: '2024-01-01T13:00:00Z',
      },
    },
  },
  refresh: {
    request: 'POST /api/auth/refresh',
    status: 200,
    response: { access_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...', expires_at: '2024-01-01T14:00:00Z' },
  },
  logout: {
    request: 'POST /api/auth/logout',
    status: 200,
    response: { success: true, message: 'Logged out successfully' },
  },
  getProfile: {
    request: 'GET /api/user/profile',
    status: 200,
    response: {
      id: 123,
      phone_number: '+1234567890',
      name: 'John Doe',
      avatar_url: 'https://...',
      about: 'Hey there!',
      privacy_settings: { last_seen: 'everyone', profile_photo: 'contacts', about: 'everyone' },
      last_seen_at: '2024-01-01T12:00:00Z',
      is_online: true,
    },
  },
  updateProfile: {
    request: 'PUT /api/user/profile',
    body: { name: 'John Smith', about: 'Living life to the fullest!' },
    status: 200,
    response: {
      success: true,
      user: {
        id: 123,
        name: 'John Smith',
        about: 'Living life to the fullest!',
        updated_at: '2024-01-01T12:30:00Z',
      },
    },
  },
  updatePrivacy: {
    request: 'PUT /api/user/privacy',
    body: { last_seen: 'contacts', profile_photo: 'everyone', about: 'nobody' },
    status: 200,
    response: {
      success: true,
      privacy_settings: { last_seen: 'contacts', profile_photo: 'everyone', about: 'nobody' },
    },
  },
  getChats: {
    request: 'GET /api/chats?page=1&limit=20',
    status: 200,
    response: {
      chats: [
        {
          id: 1,
          type: 'private',
          participant: {
            id: 456,
            name: 'Jane Smith',
            avatar_url: 'https://...',
            last_seen_at: '2024-01-01T11:30:00Z',
            is_online: false,
          },
          last_message: {
            id: 789,
            content: 'Hey, how are you?',
            message_type: 'text',
            sent_at: '2024-01-01T11:30:00Z',
            status: 'read',
          },
          unread_count: 2,
          updated_at: '2024-01-01T11:30:00Z',
        },
      ],
      pagination: { current_page: 1, total_pages: 5, total_items: 95 },
    },
  },
  getMessages: {
    request: 'GET /api/chats/1/messages?page=1&limit=50&before_message_id=100',
    status: 200,
    response: {
      messages: [
        {
          id: 99,
          sender: { id: 456, name: 'Jane Smith', avatar_url: 'https://...' },
          content: 'Hello there!',
          message_type: 'text',
          reply_to: null,
          status: 'read',
          reactions: [{ emoji: '👍', count: 2, users: [{ id: 123, name: 'John' }] }],
          sent_at: '2024-01-01T11:25:00Z',
          delivered_at: '2024-01-01T11:25:01Z',
          read_at: '2024-01-01T11:25:05Z',
        },
      ],
      pagination: { has_more: true, next_before_message_id: 90 },
    },
  },
  sendMessage: {
    request: 'POST /api/chats/1/messages',
    body: { message_type: 'text', content: 'Hello from API!', reply_to_message_id: 98 },
    status: 201,
    response: {
      message: {
        id: 100,
        chat_id: 1,
        sender_id: 123,
        content: 'Hello from API!',
        message_type: 'text',
        reply_to_message_id: 98,
        status: 'sent',
        sent_at: '2024-01-01T12:00:00Z',
      },
    },
  },
  markRead: {
    request: 'PUT /api/chats/1/read',
    body: { message_id: 100 },
    status: 200,
    response: { success: true, read_at: '2024-01-01T12:05:00Z' },
  },
  deleteMessage: {
    request: 'DELETE /api/messages/100',
    status: 200,
    response: { success: true, message: 'Message deleted successfully' },
  },
  react: {
    request: 'POST /api/messages/100/reactions',
    body: { emoji: '👍' },
    status: 200,
    response: { success: true, reaction: { message_id: 100, emoji: '👍', count: 3 } },
  },
  getGroup: {
    request: 'GET /api/groups/5',
    status: 200,
    response: {
      id: 5,
      name: 'Dev Team',
      description: 'Development team chat',
      avatar_url: 'https://...',
      created_by: { id: 123, name: 'John Doe' },
      participants: [
        {
          id: 123,
          name: 'John Doe',
          avatar_url: 'https://...',
          role: 'admin',
          joined_at: '2024-01-01T12:00:00Z',
        },
        {
          id: 456,
          name: 'Jane Smith',
          avatar_url: 'https://...',
          role: 'member',
          joined_at: '2024-01-01T12:00:00Z',
        },
      ],
      created_at: '2024-01-01T12:00:00Z',
    },
  },
  addMembers: {
    request: 'POST /api/groups/5/members',
    body: { user_ids: [111, 222] },
    status: 200,
    response: {
      success: true,
      added_members: [
        { id: 111, name: 'Alice' },
        { id: 222, name: 'Bob' },
      ],
    },
  },
  removeMember: {
    request: 'DELETE /api/groups/5/members/456',
    status: 200,
    response: { success: true, message: 'Member removed successfully' },
  },
  updateGroup: {
    request: 'PUT /api/groups/5',
    body: { name: 'Updated Dev Team', description: 'Updated description' },
    status: 200,
    response: {
      success: true,
      group: {
        id: 5,
        name: 'Updated Dev Team',
        description: 'Updated description',
        updated_at: '2024-01-01T12:30:00Z',
      },
    },
  },
  leaveGroup: {
    request: 'POST /api/groups/5/leave',
    status: 200,
    response: { success: true, message: 'Left group successfully' },
  },
  getContacts: {
    request: 'GET /api/contacts',
    status: 200,
    response: {
      contacts: [
        {
          id: 456,
          name: 'Jane Smith',
          phone_number: '+1234567891',
          avatar_url: 'https://...',
          about: 'Living life!',
          is_contact: true,
          is_blocked: false,
          last_seen_at: '2024-01-01T11:30:00Z',
          is_online: false,
        },
      ],
    },
  },
  addContact: {
    request: 'POST /api/contacts',
    body: { phone_number: '+1234567892', contact_name: 'Mike Johnson' },
    status: 201,
    response: { success: true, contact: { id: 789, name: 'Mike Johnson', phone_number: '+1234567892' } },
  },
  block: {
    request: 'PUT /api/contacts/456/block',
    status: 200,
    response: { success: true, is_blocked: true },
  },
} satisfies Record<string, SeedExample>

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/**
 * Where `actual` falls short of the example: a field it lacks, or a value of another type (an integer
 * for an integer, a timestamp for a timestamp, null for null). Every element of an actual list must
 * match the example's first element, and a list the example fills may not be empty.
 */
function shortfalls(example: Json, actual: unknown, path = '$'): string[] {
  const got = JSON.stringify(actual)
  if (example === null) return actual === null ? [] : [`${path}: expected null, got ${got}`]
  if (Array.isArray(example)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list, got ${got}`]
    const [first] = example
    if (first === undefined) return []
    if (actual.length === 0) return [`${path}: expected items, got an empty list`]
    return actual.flatMap((item, index) => shortfalls(first, item, `${path}[${index}]`))
  }
  if (typeof example === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      return [`${path}: expected an object, got ${got}`]
    }
    return Object.entries(example).flatMap(([key, value]) =>
      key in actual
        ? shortfalls(value, (actual as Record<string, unknown>)[key], `${path}.${key}`)
        : [`${path}.${key}: missing`],
    )
  }
  if (typeof example === 'number' && Number.isInteger(example)) {
    return Number.isInteger(actual) ? [] : [`${path}: expected an integer, got ${got}`]
  }
  if (typeof example === 'string' && TIMESTAMP.test(example)) {
    return typeof actual === 'string' && TIMESTAMP.test(actual) && !Number.isNaN(Date.parse(actual))
      ? []
      : [`${path}: expected a timestamp, got ${got}`]
  }
  return typeof actual === typeof example ? [] : [`${path}: expected a ${typeof example}, got ${got}`]
}

/** How the scenario stands in for what the seed names: its ids and phone numbers, and the texted code. */
interface Stand {
  ids?: Record<number, number>
  phones?: Record<string, string>
  otp?: string
}

const ID_KEY = /(^|_)ids?$|^participants$/

function substituteBody(value: Json, stand: Stand, key = ''): Json {
  if (Array.isArray(value)) return value.map((item) => substituteBody(item, stand, key))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteBody(v, stand, k)]))
  }
  if (typeof value === 'number' && ID_KEY.test(key)) return stand.ids?.[value] ?? value
  if (typeof value === 'string' && key === 'phone_number') return stand.phones?.[value] ?? value
  if (typeof value === 'string' && key === 'otp' && stand.otp) return stand.otp
  return value
}

/** The seed's path with its ids (path segments, `*_id` query values) standing for the scenario's. */
function substitutePath(path: string, stand: Stand): string {
  const id = (text: string) => String(stand.ids?.[Number(text)] ?? text)
  return path
    .replace(/\/(\d+)(?=\/|\?|$)/g, (_match, digits: string) => `/${id(digits)}`)
    .replace(/([a-z_]+_id)=(\d+)/g, (_match, name: string, digits: string) => `${name}=${id(digits)}`)
}

/**
 * Sends the example's request as written (with `stand` substitutions) and checks the answer's status
 * and every field of the example; answers the body for the scenario's own checks.
 */
async function replay(
  client: RestClient,
  example: SeedExample,
  stand: Stand = {},
  token?: string,
): Promise<Record<string, unknown>> {
  const [method, path] = example.request.split(' ') as [string, string]
  const answer = await client.raw(method, substitutePath(path, stand), {
    ...(example.body === undefined ? {} : { body: substituteBody(example.body, stand) }),
    ...(token === undefined ? {} : { token }),
  })
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status: example.status })
  expect(shortfalls(example.response, answer.body)).toEqual([])
  return answer.body as Record<string, unknown>
}

describe('the conformance checker', () => {
  it('finds a missing field, a wrong type, an empty list and a non-timestamp', () => {
    const example: Json = { a: { b: 1, at: '2024-01-01T12:00:00Z' }, list: [{ c: 'x' }], none: null }
    expect(
      shortfalls(example, { a: { b: 2, at: '2026-01-01T00:00:00.000Z' }, list: [{ c: 'y' }], none: null }),
    ).toEqual([])
    expect(shortfalls(example, { a: { b: 1.5, at: 'soon' }, list: [], none: 0 })).toEqual([
      '$.a.b: expected an integer, got 1.5',
      '$.a.at: expected a timestamp, got "soon"',
      '$.list: expected items, got an empty list',
      '$.none: expected null, got 0',
    ])
    expect(shortfalls(example, { a: {}, list: [{ c: 'x' }, {}] })).toEqual([
      '$.a.b: missing',
      '$.a.at: missing',
      '$.list[1].c: missing',
      '$.none: missing',
    ])
  })
})

describe.each(MODES)('seed 002 examples, as written (%s)', (mode) => {
  let server: TestServer
  const AVATAR = 'https://cdn.example.com/avatars/u.jpg'
  /** Valid numbers for the seed's placeholders (each test server has its own database). */
  const phones = {
    '+1234567890': '+14155550140',
    '+1234567891': '+14155550141',
    '+1234567892': '+14155550142',
  }
  type Person = { id: number; client: RestClient }
  let john: Person
  let jane: Person
  let alice: Person
  let bob: Person
  let mike: Person
  let dan: Person
  let chatId: number
  /** Jane's messages 98 and 99 of the seed, and John's 100 once sent. */
  const messageIds: Record<number, number> = {}
  let groupId: number
  let johnReadAt: string

  /** A phone user with the seed's name, an avatar and a last-seen time (they have been online before). */
  async function person(name: string, phone: string, about = ''): Promise<Person> {
    const user = await createPhoneUser(server, phone)
    await user.client.users.updateProfile({ name, ...(about ? { about } : {}) })
    await new UserRepository(server.deps.store.db).update(user.id, {
      avatar_url: AVATAR,
      last_seen_at: server.clock.now() - 60_000,
    })
    return { id: user.id, client: user.client }
  }

  const ids = () => ({
    123: john.id,
    456: jane.id,
    111: alice.id,
    222: bob.id,
    789: mike.id,
    1: chatId,
    5: groupId,
    98: messageIds[98] ?? 0,
    99: messageIds[99] ?? 0,
    100: messageIds[100] ?? 0,
  })

  beforeAll(async () => {
    // John signs in several times from one address: the OTP limits are not what this suite tests.
    server = await startServer(mode, {
      PARLEY_OTP_SENDS_PER_HOUR: '20',
      PARLEY_OTP_SENDS_PER_IP_PER_HOUR: '100',
    })
    john = await person('John Doe', phones['+1234567890'], 'Hey there!')
    jane = await person('Jane Smith', phones['+1234567891'], 'Living life!')
    mike = await person('Mike Johnson', phones['+1234567892'])
    alice = await person('Alice', '+14155550143')
    bob = await person('Bob', '+14155550144')
    dan = await person('Dan', '+14155550145')
    chatId = (await john.client.chats.open(jane.id)).chat.id
    // Older history, so that the page before message 100 (`limit=50`) has more before it.
    for (let index = 0; index < 50; index++) {
      const { message } = await jane.client.messages.send(chatId, {
        message_type: 'text',
        content: `Earlier ${index}`,
        client_msg_id: `earlier-${index}`,
      })
      await john.client.messages.react(message.id, '👍')
    }
    for (const [seedId, content] of [
      [98, 'Are you there?'],
      [99, 'Hello there!'],
    ] as const) {
      const { message } = await jane.client.messages.send(chatId, {
        message_type: 'text',
        content,
        client_msg_id: `seed-${seedId}`,
      })
      messageIds[seedId] = message.id
      await john.client.messages.react(message.id, '👍')
      await jane.client.messages.react(message.id, '👍')
    }
    // John's device receives both (delivered) and he reads them.
    await syncAll(john.client)
    johnReadAt = (await john.client.messages.read(chatId, messageIds[99] ?? 0)).read_at
  })
  afterAll(async () => {
    await server?.close()
  })

  /** Another sign-in of John's, through the OTP flow. */
  async function signInJohn(client: RestClient) {
    await client.auth.sendOtp({ phone_number: phones['+1234567890'] })
    return client.auth.verifyOtp({
      phone_number: phones['+1234567890'],
      otp: server.sms.lastCode(phones['+1234567890']),
    })
  }

  describe('authentication', () => {
    it('1. Send OTP, 2. Verify OTP: a second sign-in of John, his profile in the answer', async () => {
      await replay(server.client(), SEED.sendOtp, { phones })
      const client = server.client()
      const body = await replay(client, SEED.verifyOtp, {
        phones,
        otp: server.sms.lastCode(phones['+1234567890']),
      })
      expect(body.user).toMatchObject({ id: john.id, name: 'John Doe', about: 'Hey there!' })
    })

    it('3. Refresh Token: the refresh token as the bearer token, no body', async () => {
      const { tokens } = await signInJohn(server.client())
      const body = await replay(server.client(), SEED.refresh, {}, tokens.refresh_token)
      // The new access token works.
      expect((await server.client(String(body.access_token)).users.profile()).user.id).toBe(john.id)
    })

    it('4. Logout: that session stops working', async () => {
      const client = server.client()
      await signInJohn(client)
      await replay(client, SEED.logout)
      expect((await client.raw('GET', '/api/user/profile')).status).toBe(401)
    })
  })

  describe('user management', () => {
    it('1. Get User Profile: the profile at the top level (and under user)', async () => {
      const body = await replay(john.client, SEED.getProfile)
      expect(body).toMatchObject({ id: john.id, phone_number: phones['+1234567890'], name: 'John Doe' })
      expect(body.user).toMatchObject({ id: john.id, name: 'John Doe' })
    })

    it('2. Update User Profile, 4. Update Privacy Settings', async () => {
      const body = await replay(dan.client, SEED.updateProfile)
      expect(body.user).toMatchObject({
        id: dan.id,
        name: 'John Smith',
        about: 'Living life to the fullest!',
      })
      const privacy = await replay(dan.client, SEED.updatePrivacy)
      expect(privacy.privacy_settings).toEqual(SEED.updatePrivacy.response.privacy_settings)
    })
  })

  describe('chats and messages', () => {
    it('3. Send Message: no client_msg_id, a reply to message 98; the server assigns the id', async () => {
      const body = await replay(john.client, SEED.sendMessage, { ids: ids() })
      const message = body.message as { id: number; client_msg_id: string | null }
      expect(message).toMatchObject({
        chat_id: chatId,
        sender_id: john.id,
        content: 'Hello from API!',
        reply_to_message_id: messageIds[98],
        status: 'sent',
      })
      expect(message.client_msg_id).toEqual(expect.any(String))
      messageIds[100] = message.id
    })

    it('2. Get Chat Messages: page 1 before message 100, with the viewer’s delivered_at/read_at', async () => {
      const body = await replay(jane.client, SEED.getMessages, { ids: ids() })
      const messages = body.messages as Array<{ id: number; status: string; read_at: string | null }>
      expect(messages).toHaveLength(50)
      expect(messages.slice(-2).map((message) => message.id)).toEqual([messageIds[98], messageIds[99]])
      expect(new Set(messages.map((message) => message.status))).toEqual(new Set(['read']))
      expect(body.pagination).toMatchObject({ has_more: true, next_before_message_id: messages[0]?.id })
      // Jane, the sender, sees when John read them; John, the reader, sees his own receipt times.
      expect(new Set(messages.map((message) => message.read_at))).toEqual(new Set([johnReadAt]))
      const johns = await john.client.messages.history(chatId, { before_message_id: messageIds[100] ?? 0 })
      expect(new Set(johns.messages.map((message) => message.read_at))).toEqual(new Set([johnReadAt]))
      expect(
        johns.messages.every((message) => message.delivered_at !== null && message.status === null),
      ).toBe(true)
    })

    it('5. Mark Messages as Read', async () => {
      await replay(jane.client, SEED.markRead, { ids: ids() })
    })

    it('1. Get All Chats: page 1 of 20 with the totals; the last message read', async () => {
      const body = await replay(john.client, SEED.getChats, { ids: ids() })
      expect(body.chats).toMatchObject([
        { id: chatId, type: 'private', participant: { id: jane.id }, last_message: { id: messageIds[100] } },
      ])
      expect(body.pagination).toMatchObject({ current_page: 1, total_pages: 1, total_items: 1 })
    })

    it('7. React to Message', async () => {
      const body = await replay(jane.client, SEED.react, { ids: ids() })
      expect(body.reaction).toEqual({ message_id: messageIds[100], emoji: '👍', count: 1 })
    })

    it('6. Delete Message: the sender’s plain DELETE deletes it for everyone', async () => {
      await replay(john.client, SEED.deleteMessage, { ids: ids() })
      const { message } = await jane.client.messages.get(messageIds[100] ?? 0)
      expect(message).toMatchObject({ id: messageIds[100], deleted: true, content: null })
    })
  })

  describe('groups', () => {
    beforeAll(async () => {
      // 1. Create Group is multipart with an avatar file (the media issue); JSON creates it here.
      const { group } = await john.client.groups.create({
        name: 'Dev Team',
        description: 'Development team chat',
        participants: [jane.id, dan.id],
      })
      groupId = group.id
      await server.deps.store.db
        .updateTable('chats')
        .set({ avatar_url: AVATAR })
        .where('id', '=', groupId)
        .execute()
      expect(await new ChatRepository(server.deps.store.db).findById(groupId)).toMatchObject({
        avatar_url: AVATAR,
      })
    })

    it('2. Get Group Info: at the top level', async () => {
      const body = await replay(john.client, SEED.getGroup, { ids: ids() })
      expect(body).toMatchObject({
        id: groupId,
        name: 'Dev Team',
        created_by: { id: john.id, name: 'John Doe' },
      })
    })

    it('3. Add Group Members', async () => {
      const body = await replay(john.client, SEED.addMembers, { ids: ids() })
      expect(body.added_members).toEqual([
        { id: alice.id, name: 'Alice' },
        { id: bob.id, name: 'Bob' },
      ])
    })

    it('4. Remove Group Member', async () => {
      await replay(john.client, SEED.removeMember, { ids: ids() })
      const { group } = await john.client.groups.get(groupId)
      expect(group.participants.map((participant) => participant.id)).not.toContain(jane.id)
    })

    it('5. Update Group Info', async () => {
      const body = await replay(john.client, SEED.updateGroup, { ids: ids() })
      expect(body.group).toMatchObject({ id: groupId, name: 'Updated Dev Team' })
    })

    it('6. Leave Group', async () => {
      await replay(alice.client, SEED.leaveGroup, { ids: ids() })
    })
  })

  describe('contacts', () => {
    it('2. Add Contact, then 1. Get Contacts', async () => {
      await john.client.contacts.add({ phone_number: phones['+1234567891'], contact_name: 'Jane Smith' })
      const added = await replay(john.client, SEED.addContact, { phones })
      expect(added.contact).toMatchObject({
        id: mike.id,
        name: 'Mike Johnson',
        phone_number: phones['+1234567892'],
      })
      const body = await replay(john.client, SEED.getContacts)
      expect((body.contacts as Array<{ id: number }>).map((contact) => contact.id).sort()).toEqual(
        [jane.id, mike.id].sort(),
      )
    })

    it('3. Block/Unblock Contact', async () => {
      await replay(john.client, SEED.block, { ids: ids() })
    })
  })
})

describe.each(MODES)('seed 002 additions, beside the examples (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  it('chat list page numbers: every page in order, the totals, past the end empty; page with cursor refused', async () => {
    const ada = await createPhoneUser(server)
    const others = await Promise.all(Array.from({ length: 5 }, () => createPhoneUser(server)))
    for (const other of others) {
      const { chat } = await ada.client.chats.open(other.id)
      await ada.client.messages.send(chat.id, {
        message_type: 'text',
        content: 'hi',
        client_msg_id: clientMsgId(),
      })
      server.clock.advance(1000)
    }
    const byCursor = (await ada.client.chats.list({ limit: 100 })).chats.map((chat) => chat.id)
    const pages = []
    for (const page of [1, 2, 3, 4]) {
      const answer = await ada.client.raw('GET', `/api/chats?page=${page}&limit=2`)
      expect(answer.status).toBe(200)
      pages.push(answer.body as { chats: Array<{ id: number }>; pagination: Record<string, unknown> })
    }
    expect(pages.flatMap((page) => page.chats.map((chat) => chat.id))).toEqual(byCursor)
    expect(pages.map((page) => page.pagination)).toEqual([
      expect.objectContaining({ current_page: 1, total_pages: 3, total_items: 5, has_more: true }),
      expect.objectContaining({ current_page: 2, total_pages: 3, total_items: 5, has_more: true }),
      expect.objectContaining({ current_page: 3, total_pages: 3, total_items: 5, has_more: false }),
      expect.objectContaining({ current_page: 4, total_pages: 3, total_items: 5, has_more: false }),
    ])
    // Without `page`, the cursor answer is as before: no totals.
    expect(Object.keys((await ada.client.chats.list({ limit: 2 })).pagination).sort()).toEqual([
      'has_more',
      'next_cursor',
    ])
    const { pagination } = await ada.client.chats.list({ limit: 2 })
    const both = await ada.client.raw('GET', '/api/chats', {
      query: { page: 2, cursor: pagination.next_cursor ?? '' },
    })
    expect([both.status, (both.body as { error: { code: string } }).error.code]).toEqual([
      400,
      'validation_error',
    ])
  })

  it('history page numbers count back from the anchor; refused with after/around_message_id', async () => {
    const ada = await createPhoneUser(server)
    const bob = await createPhoneUser(server)
    const { chat } = await ada.client.chats.open(bob.id)
    const ids: number[] = []
    for (let index = 0; index < 7; index++) {
      ids.push(
        (
          await ada.client.messages.send(chat.id, {
            message_type: 'text',
            content: `m${index}`,
            client_msg_id: clientMsgId(),
          })
        ).message.id,
      )
    }
    const page = async (query: string) => {
      const answer = await ada.client.raw('GET', `/api/chats/${chat.id}/messages?${query}`)
      return [answer.status, (answer.body as { messages?: Array<{ id: number }> }).messages?.map((m) => m.id)]
    }
    expect(await page('page=1&limit=3')).toEqual([200, ids.slice(4)])
    expect(await page('page=2&limit=3')).toEqual([200, ids.slice(1, 4)])
    expect(await page('page=3&limit=3')).toEqual([200, ids.slice(0, 1)])
    expect(await page(`page=2&limit=2&before_message_id=${ids[6]}`)).toEqual([200, ids.slice(2, 4)])
    expect((await page(`page=2&after_message_id=${ids[0]}`))[0]).toBe(400)
    expect((await page(`page=1&after_message_id=${ids[0]}`))[0]).toBe(200)
  })

  it('a send without client_msg_id gets a server-assigned one, and its retry is a second message', async () => {
    const ada = await createPhoneUser(server)
    const bob = await createPhoneUser(server)
    const { chat } = await ada.client.chats.open(bob.id)
    const body = { message_type: 'text', content: 'sent twice' }
    const first = await ada.client.raw('POST', `/api/chats/${chat.id}/messages`, { body })
    const retry = await ada.client.raw('POST', `/api/chats/${chat.id}/messages`, { body })
    const messages = [first, retry].map((answer) => (answer.body as { message: Message }).message)
    expect([first.status, retry.status]).toEqual([201, 201])
    expect(messages[0]?.client_msg_id).toMatch(/^server:/)
    expect(messages[0]?.id).not.toBe(messages[1]?.id)
    expect((await bob.client.messages.history(chat.id)).messages.map((m) => m.content)).toEqual([
      'sent twice',
      'sent twice',
    ])
  })

  it('DELETE without for: your own message for everyone; someone else’s, even as group admin, only for you', async () => {
    const ada = await createPhoneUser(server)
    const bob = await createPhoneUser(server)
    const { group } = await ada.client.groups.create({ name: 'Crew', participants: [bob.id] })
    const send = async (content: string) =>
      (
        await bob.client.messages.send(group.id, {
          message_type: 'text',
          content,
          client_msg_id: clientMsgId(),
        })
      ).message.id
    const kept = await send('mine')
    const dropped = await send('oops')

    expect((await ada.client.raw('DELETE', `/api/messages/${kept}`)).status).toBe(200)
    expect((await ada.client.raw('GET', `/api/messages/${kept}`)).status).toBe(404)
    expect((await bob.client.messages.get(kept)).message).toMatchObject({ deleted: false, content: 'mine' })

    expect((await bob.client.raw('DELETE', `/api/messages/${dropped}`)).status).toBe(200)
    for (const user of [ada, bob]) {
      expect((await user.client.messages.get(dropped)).message).toMatchObject({
        deleted: true,
        content: null,
      })
    }
  })
})

/** Seed 002's multipart examples: the form fields as written, `[image file]` as a marker. */
const IMAGE_FILE = '[image file]'
const SEED_FORMS = {
  sendMedia: {
    request: 'POST /api/chats/1/messages',
    form: [
      ['message_type', 'image'],
      ['file', IMAGE_FILE],
      ['caption', 'Check this out!'],
    ],
    status: 201,
    response: {
      message: {
        id: 101,
        chat_id: 1,
        sender_id: 123,
        message_type: 'image',
        content: 'Check this out!',
        media_url: 'https://storage.example.com/media/101.jpg',
        thumbnail_url: 'https://storage.example.com/thumbnails/101.jpg',
        media_size: 1048576,
        status: 'sent',
        sent_at: '2024-01-01T12:01:00Z',
      },
    },
  },
  uploadAvatar: {
    request: 'POST /api/user/avatar',
    form: [['avatar', IMAGE_FILE]],
    status: 200,
    response: { success: true, avatar_url: 'https://storage.example.com/avatars/123.jpg' },
  },
  createGroup: {
    request: 'POST /api/groups',
    form: [
      ['name', 'Dev Team'],
      ['description', 'Development team chat'],
      ['avatar', IMAGE_FILE],
      ['participants', '[456, 789, 101]'],
    ],
    status: 201,
    response: {
      group: {
        id: 5,
        name: 'Dev Team',
        description: 'Development team chat',
        avatar_url: 'https://storage.example.com/groups/5.jpg',
        created_by: 123,
        participants_count: 4,
        created_at: '2024-01-01T12:00:00Z',
      },
    },
  },
} satisfies Record<string, { request: string; form: Array<[string, string]>; status: number; response: Json }>

describe.each(MODES)('seed 002 multipart examples, as written (%s)', (mode) => {
  let server: TestServer
  type Person = { id: number; client: RestClient; token: string }
  let john: Person
  let jane: Person
  let mike: Person
  let lee: Person
  beforeAll(async () => {
    server = await startServer(mode)
    const person = async (name: string): Promise<Person> => {
      const user = await createPhoneUser(server)
      await user.client.users.updateProfile({ name })
      return { id: user.id, client: user.client, token: user.auth.tokens.access_token }
    }
    john = await person('John Doe')
    jane = await person('Jane Smith')
    mike = await person('Mike Johnson')
    lee = await person('Lee')
  })
  afterAll(async () => {
    await server?.close()
  })

  /** The example's form with the scenario's ids and a real JPEG for each `[image file]`. */
  async function replayForm(
    example: { request: string; form: Array<[string, string]>; status: number; response: Json },
    ids: Record<number, number>,
    response: Json = example.response,
  ): Promise<Record<string, unknown>> {
    const [method, path] = example.request.split(' ') as [string, string]
    const entries: FormEntry[] = []
    for (const [name, value] of example.form) {
      if (value === IMAGE_FILE)
        entries.push([name, await image('jpeg', entries.length), 'image/jpeg', 'photo.jpg'])
      else if (name === 'participants')
        entries.push([name, JSON.stringify((JSON.parse(value) as number[]).map((id) => ids[id] ?? id))])
      else entries.push([name, value])
    }
    const answer = await postForm(server, john.token, substitutePath(path, { ids }), entries, method)
    expect({ status: answer.status, body: answer.body }).toMatchObject({ status: example.status })
    expect(shortfalls(response, answer.body)).toEqual([])
    return answer.body
  }

  it('4. Send Media Message: the caption is the content; media_url, thumbnail_url and media_size are the image’s', async () => {
    const chatId = (await john.client.chats.open(jane.id)).chat.id
    // The thumbnail is made by the processing pipeline; the view names it when the image has one, and
    // the message's thumbnail_url is always its first attachment's.
    const { thumbnail_url: _made, ...withoutThumbnail } = SEED_FORMS.sendMedia.response.message
    const body = await replayForm(SEED_FORMS.sendMedia, { 1: chatId }, { message: withoutThumbnail })
    const message = body.message as Message
    expect(message.sender_id).toBe(john.id)
    expect(message.media_url).toBe(`/api/media/${message.attachments[0]?.id}`)
    expect(message.thumbnail_url).toBe(`/api/media/${message.attachments[0]?.id}/thumbnail`)
    expect(message.attachments[0]?.thumbnail_url).toBe(message.thumbnail_url)
    expect(message.media_size).toBe(message.attachments[0]?.size)
  })

  it('3. Upload Avatar: the URL of the 300 px size, shown in the profile', async () => {
    const body = await replayForm(SEED_FORMS.uploadAvatar, {})
    expect(body.avatar_url).toMatch(/^\/api\/media\/\d+\/avatar_300$/)
    expect((await john.client.users.profile()).avatar_url).toBe(body.avatar_url)
  })

  it('1. Create Group with an avatar and participants [456, 789, 101]', async () => {
    const body = await replayForm(SEED_FORMS.createGroup, { 456: jane.id, 789: mike.id, 101: lee.id })
    const group = body.group as { id: number; avatar_url: string; created_by: number }
    expect(group.created_by).toBe(john.id)
    expect(group.avatar_url).toMatch(/^\/api\/media\/\d+\/avatar_300$/)
    expect((await jane.client.groups.get(group.id)).avatar_url).toBe(group.avatar_url)
  })
})
