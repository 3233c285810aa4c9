import type { Chat, GroupInfo, Message, Update } from '@parley/protocol'
import { describe, expect, it } from 'vitest'
import { systemText } from '../ui/system-text.ts'
import { OutboxStorage } from './outbox-storage.ts'
import {
  applyShellUpdate,
  isMuted,
  listChats,
  readBy,
  totalUnread,
  unknownPeople,
  withChatPeople,
  withGroupInfo,
  withPeople,
  withPresence,
} from './shell.ts'
import { applyUpdate, initialState, type State, withChats, withMessages } from './store.ts'

const ME = 1
const BOB = 2
const CY = 3

function message(seq: number, sender: number | null, extra: Partial<Message> = {}): Message {
  return {
    id: 100 + seq,
    chat_id: 9,
    seq,
    sender_id: sender,
    sender: sender === null ? null : { id: sender, name: `User ${sender}`, avatar_url: null },
    client_msg_id: `c${seq}`,
    message_type: 'text',
    content: `message ${seq}`,
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
    status: sender === ME ? 'sent' : null,
    delivered_count: sender === ME ? 0 : null,
    read_count: sender === ME ? 0 : null,
    deleted: false,
    sent_at: new Date(Date.UTC(2026, 0, 1, 12, seq)).toISOString(),
    edited_at: null,
    ...extra,
  }
}

function chat(id: number, extra: Partial<Chat> = {}): Chat {
  return {
    id,
    type: 'group',
    name: `Group ${id}`,
    description: null,
    avatar_url: null,
    participant: null,
    participants_count: 3,
    role: 'admin',
    last_message: null,
    unread_count: 0,
    muted_until: null,
    pinned: false,
    archived: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  }
}

function group(members: Array<[number, 'admin' | 'member']>): GroupInfo {
  return {
    id: 9,
    name: 'Trio',
    description: null,
    avatar_url: null,
    created_by: { id: ME, name: 'Me' },
    participants_count: members.length,
    participants: members.map(([id, role]) => ({
      id,
      username: null,
      name: id === ME ? 'Me' : `User ${id}`,
      avatar_url: null,
      role,
      joined_at: '2026-01-01T00:00:00.000Z',
    })),
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  }
}

const start = (): State =>
  withChats({ ...initialState, me: { id: ME } as State['me'] }, [chat(9, { last_message: message(1, BOB) })])
const away = { visibleChatId: null }
const read = (seq: number, user: number, readSeq: number): Update => ({
  seq,
  type: 'message:read',
  data: { chat_id: 9, user_id: user, read_seq: readSeq, read_at: '2026-01-01T00:00:00.000Z' },
})

describe('shell reducers', () => {
  it('moves "read by N of M" forward with each member’s read watermark, once per member', () => {
    let state = withMessages(start(), 9, [message(2, ME)], { hasMoreBefore: false })
    const mine = state.conversations[9]?.byId[102] as Message
    expect(readBy(state, mine)).toEqual({ read: 0, of: 2 })
    state = applyUpdate(state, read(10, BOB, 2), away)
    state = applyUpdate(state, read(11, BOB, 2), away)
    expect(readBy(state, mine)).toEqual({ read: 1, of: 2 })
    state = applyUpdate(state, read(12, CY, 5), away)
    expect(readBy(state, mine)).toEqual({ read: 2, of: 2 })
    // The server's count at load time is kept when it knows more than the watermarks seen since.
    expect(readBy(start(), message(3, ME, { read_count: 1 }))).toEqual({ read: 1, of: 2 })
    expect(readBy(state, message(4, BOB))).toBeNull()
  })

  it('follows group membership: roles, renames, removals, and leaving drops the chat', () => {
    let state = withGroupInfo(
      start(),
      group([
        [ME, 'admin'],
        [BOB, 'member'],
        [CY, 'member'],
      ]),
    )
    expect(state.people[BOB]).toBe('User 2')
    const role: Update = {
      seq: 20,
      type: 'chat:member_role',
      data: { chat_id: 9, user_id: BOB, role: 'admin', actor_id: ME },
    }
    state = applyShellUpdate(state, role)
    expect(applyShellUpdate(state, role)).toBe(state)
    expect(state.groups[9]?.participants.find((member) => member.id === BOB)?.role).toBe('admin')
    state = applyShellUpdate(state, {
      seq: 21,
      type: 'chat:member_removed',
      data: { chat_id: 9, user_id: CY, actor_id: ME, reason: 'removed' },
    })
    expect(state.groups[9]?.participants.map((member) => member.id)).toEqual([ME, BOB])
    expect(state.chats[9]?.participants_count).toBe(2)
    state = applyShellUpdate(state, {
      seq: 22,
      type: 'chat:updated',
      data: {
        chat: {
          id: 9,
          type: 'group',
          name: 'Duo',
          description: 'two now',
          avatar_url: null,
          created_by: ME,
          members: [],
          created_at: '2026-01-01T00:00:00.000Z',
        },
      },
    })
    expect(state.chats[9]?.name).toBe('Duo')
    expect(state.groups[9]?.name).toBe('Duo')
    state = applyShellUpdate(state, {
      seq: 23,
      type: 'chat:member_removed',
      data: { chat_id: 9, user_id: ME, actor_id: BOB, reason: 'removed' },
    })
    expect(state.chats[9]).toBeUndefined()
    expect(state.groups[9]).toBeUndefined()
  })

  it('names the people of system messages it does not know yet, and re-renders groups when learnt', () => {
    const removed = message(2, ME, {
      message_type: 'system',
      content: null,
      system: { event: 'member_removed', actor_id: ME, user_ids: [CY] },
    })
    let state = withMessages(start(), 9, [removed], { hasMoreBefore: false })
    expect(unknownPeople(state, 9)).toBe(String(CY))
    const before = state.conversations[9]
    state = withPeople(state, [{ id: CY, name: 'Cy' }])
    expect(unknownPeople(state, 9)).toBe('')
    expect(state.conversations[9]).not.toBe(before)
    expect(withPeople(state, [{ id: CY, name: 'Cy' }])).toBe(state)
  })

  it('keeps presence from chats and live events, unchanged state for the same presence', () => {
    const participant = {
      id: BOB,
      name: 'Bob',
      username: 'bob',
      avatar_url: null,
      is_online: false,
      last_seen_at: '2026-01-01T10:00:00.000Z',
    }
    let state = withChatPeople(start(), [chat(5, { type: 'private', name: null, participant })])
    expect(state.presence[BOB]).toEqual({ online: false, lastSeenAt: '2026-01-01T10:00:00.000Z' })
    expect(state.people[BOB]).toBe('Bob')
    state = withPresence(state, BOB, { online: true, lastSeenAt: null })
    expect(withPresence(state, BOB, { online: true, lastSeenAt: null })).toBe(state)
    expect(state.presence[BOB]?.online).toBe(true)
  })

  it('lists chats by filter, archive and title; pinned first; muted chats leave the title count', () => {
    const now = Date.parse('2026-06-01T00:00:00.000Z')
    const state = withChats(initialState, [
      chat(1, { name: 'Alpha', unread_count: 2 }),
      chat(2, { type: 'private', name: null, participant: null, unread_count: 1, pinned: true }),
      chat(3, { name: 'Archived one', archived: true, unread_count: 4 }),
      chat(4, { name: 'Muted', unread_count: 5, muted_until: '2027-01-01T00:00:00.000Z' }),
    ])
    const ids = (chats: Chat[]) => chats.map((item) => item.id)
    expect(ids(listChats(state, { filter: 'all', archived: false, query: '' }))).toEqual([2, 4, 1])
    expect(ids(listChats(state, { filter: 'groups', archived: false, query: '' }))).toEqual([4, 1])
    expect(ids(listChats(state, { filter: 'unread', archived: true, query: '' }))).toEqual([3])
    expect(ids(listChats(state, { filter: 'all', archived: false, query: 'alp' }))).toEqual([1])
    expect(isMuted(state.chats[4] as Chat, now)).toBe(true)
    expect(totalUnread(state, now)).toBe(3)
  })

  it('words system messages with the names it knows', () => {
    const people = { [BOB]: 'Bob', [CY]: 'Cy' }
    const added = {
      content: null,
      system: { event: 'members_added' as const, actor_id: ME, user_ids: [BOB, CY] },
    }
    expect(systemText(added, people, ME)).toBe('You added Bob and Cy')
    const left = { content: null, system: { event: 'member_left' as const, actor_id: BOB, user_ids: [BOB] } }
    expect(systemText(left, people, ME)).toBe('Bob left')
    const unknown = { content: null, system: { event: 'group_created' as const, actor_id: 99, user_ids: [] } }
    expect(systemText(unknown, people, ME)).toBe('Someone created the group')
    // A former member is named by the message itself (its sender is the actor).
    const gone = { ...left, system: { ...left.system, actor_id: 98, user_ids: [98] } }
    expect(systemText({ ...gone, sender: { id: 98, name: 'Dee', avatar_url: null } }, people, ME)).toBe(
      'Dee left',
    )
  })
})

describe('outbox storage', () => {
  it('keeps unanswered sends per user and drops damaged entries', () => {
    const storage = new Map<string, string>()
    const fake = {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
      removeItem: (key: string) => void storage.delete(key),
    } as Storage
    const outbox = new OutboxStorage(fake)
    const entry = {
      clientMsgId: 'a',
      chatId: 9,
      content: 'hi',
      createdAt: '2026-01-01',
      state: 'pending' as const,
    }
    outbox.save(ME, [entry])
    expect(outbox.load(ME)).toEqual([entry])
    expect(outbox.load(BOB)).toEqual([])
    storage.set(`parley.outbox.${ME}`, JSON.stringify([entry, { clientMsgId: 1 }, null]))
    expect(outbox.load(ME)).toEqual([entry])
    storage.set(`parley.outbox.${ME}`, '{not json')
    expect(outbox.load(ME)).toEqual([])
    outbox.save(ME, [])
    expect(storage.has(`parley.outbox.${ME}`)).toBe(false)
  })
})
