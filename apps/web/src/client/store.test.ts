import type { Chat, Message, Update } from '@parley/protocol'
import { describe, expect, it } from 'vitest'
import {
  applyUpdate,
  initialState,
  type State,
  sortedChats,
  statusOf,
  withChats,
  withMessages,
} from './store.ts'

const ME = 1
const OTHER = 2

function message(seq: number, sender: number, extra: Partial<Message> = {}): Message {
  return {
    id: 100 + seq,
    chat_id: 7,
    seq,
    sender_id: sender,
    sender: { id: sender, name: sender === ME ? 'Me' : 'Other', avatar_url: null },
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
    delivered_count: null,
    read_count: null,
    deleted: false,
    sent_at: new Date(Date.UTC(2026, 0, 1, 12, seq)).toISOString(),
    edited_at: null,
    ...extra,
  }
}

function chat(id: number, last: Message | null, extra: Partial<Chat> = {}): Chat {
  return {
    id,
    type: 'private',
    name: null,
    description: null,
    avatar_url: null,
    participant: null,
    participants_count: 2,
    role: 'member',
    last_message: last,
    unread_count: 0,
    muted_until: null,
    pinned: false,
    archived: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  }
}

const start = (): State =>
  withChats({ ...initialState, me: { id: ME } as State['me'] }, [chat(7, message(1, OTHER))])
const newMessage = (seq: number, m: Message): Update => ({
  seq,
  type: 'message:new',
  data: { chat_id: 7, message: m },
})
const away = { visibleChatId: null }

describe('client store', () => {
  it('counts a message once however often it is applied (replay after a reconnect)', () => {
    const update = newMessage(10, message(2, OTHER))
    const once = applyUpdate(start(), update, away)
    const twice = applyUpdate(once, update, away)
    expect(once.chats[7]?.unread_count).toBe(1)
    expect(twice.chats[7]?.unread_count).toBe(1)
    expect(twice.conversations[7]?.order).toEqual([102])
  })

  it('does not count as unread a message in the chat on screen, nor its own', () => {
    const seen = applyUpdate(start(), newMessage(10, message(2, OTHER)), { visibleChatId: 7 })
    const own = applyUpdate(start(), newMessage(10, message(2, ME)), away)
    expect(seen.chats[7]?.unread_count).toBe(0)
    expect(own.chats[7]?.unread_count).toBe(0)
  })

  it('orders a history page and live messages by seq, without duplicates', () => {
    let state = applyUpdate(start(), newMessage(10, message(5, OTHER)), away)
    state = withMessages(state, 7, [message(3, OTHER), message(4, ME), message(5, OTHER)], {
      hasMoreBefore: true,
    })
    expect(state.conversations[7]?.order).toEqual([103, 104, 105])
  })

  it('replaces the pending copy of a sent message when the server echo arrives', () => {
    const state: State = {
      ...start(),
      outgoing: [{ clientMsgId: 'c2', chatId: 7, content: 'message 2', createdAt: '', state: 'pending' }],
    }
    const next = applyUpdate(state, newMessage(10, message(2, ME)), away)
    expect(next.outgoing).toEqual([])
    expect(next.conversations[7]?.order).toEqual([102])
  })

  it('derives ticks from watermarks: delivered, then read, never backwards', () => {
    let state = withMessages(start(), 7, [message(2, ME)], { hasMoreBefore: false })
    const sent = state.conversations[7]?.byId[102] as Message
    expect(statusOf(state, sent)).toBe('sent')
    const delivered: Update = {
      seq: 11,
      type: 'message:delivered',
      data: { chat_id: 7, user_id: OTHER, delivered_seq: 2, delivered_at: '2026-01-01T00:00:00.000Z' },
    }
    state = applyUpdate(state, delivered, away)
    expect(statusOf(state, sent)).toBe('delivered')
    const read: Update = {
      seq: 12,
      type: 'message:read',
      data: { chat_id: 7, user_id: OTHER, read_seq: 2, read_at: '2026-01-01T00:00:00.000Z' },
    }
    state = applyUpdate(applyUpdate(state, read, away), delivered, away)
    expect(statusOf(state, sent)).toBe('read')
    expect(statusOf(state, message(3, ME))).toBe('sent')
  })

  it('lists chats by last activity, newest first', () => {
    const chats = withChats(initialState, [
      chat(1, message(1, OTHER)),
      chat(2, message(9, OTHER)),
      chat(3, null, { updated_at: '2025-01-01T00:00:00.000Z' }),
    ]).chats
    expect(sortedChats(chats).map((c) => c.id)).toEqual([2, 1, 3])
  })
})
