import type { Chat, Message, Update } from '@parley/protocol'
import { describe, expect, it } from 'vitest'
import {
  applyUpdate,
  firstUnreadId,
  initialState,
  lastEditable,
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

  describe('message updates', () => {
    const loaded = () =>
      withMessages(
        start(),
        7,
        [
          message(1, OTHER),
          message(2, ME),
          message(3, OTHER, {
            reply_to_message_id: 102,
            reply_to: {
              id: 102,
              sender_id: ME,
              message_type: 'text',
              content: 'message 2',
              thumbnail_url: null,
              deleted: false,
            },
          }),
        ],
        {
          hasMoreBefore: false,
          hasMoreAfter: false,
        },
      )
    const update = (type: Update['type'], data: unknown): Update => ({ seq: 20, type, data }) as Update

    it('an edit replaces the text, marks it edited and rewrites the quotes of it', () => {
      const edited = message(2, ME, { content: 'fixed', edited_at: '2026-01-01T13:00:00.000Z' })
      const state = applyUpdate(loaded(), update('message:edited', { chat_id: 7, message: edited }), away)
      expect(state.conversations[7]?.byId[102]?.content).toBe('fixed')
      expect(state.conversations[7]?.byId[102]?.edited_at).not.toBeNull()
      expect(state.conversations[7]?.byId[103]?.reply_to?.content).toBe('fixed')
    })

    it('a delete for everyone leaves the placeholder: no text, no reactions, quotes say deleted', () => {
      let state = applyUpdate(
        loaded(),
        update('message:reaction', {
          chat_id: 7,
          message_id: 102,
          user_id: OTHER,
          emoji: '👍',
          action: 'added',
          reactions: [{ emoji: '👍', count: 1, users: [{ id: OTHER, name: 'Other' }] }],
        }),
        away,
      )
      state = applyUpdate(
        state,
        update('message:deleted', { chat_id: 7, message_id: 102, for: 'everyone' }),
        away,
      )
      const deleted = state.conversations[7]?.byId[102]
      expect(deleted).toMatchObject({ deleted: true, content: null, reactions: [] })
      expect(state.conversations[7]?.order).toEqual([101, 102, 103])
      expect(state.conversations[7]?.byId[103]?.reply_to).toMatchObject({ deleted: true, content: null })
      // A replay of the delete changes nothing more.
      const again = applyUpdate(
        state,
        update('message:deleted', { chat_id: 7, message_id: 102, for: 'everyone' }),
        away,
      )
      expect(again.conversations[7]?.byId[102]).toEqual(deleted)
    })

    it('a delete for me removes the message, and the chat preview falls back to the one before', () => {
      let state = withChats(loaded(), [chat(7, message(3, OTHER))])
      state = applyUpdate(state, update('message:deleted', { chat_id: 7, message_id: 103, for: 'me' }), away)
      expect(state.conversations[7]?.order).toEqual([101, 102])
      expect(state.conversations[7]?.byId[103]).toBeUndefined()
      expect(state.chats[7]?.last_message?.id).toBe(102)
    })

    it('a reaction takes the summary the server sent, also on the chat preview', () => {
      let state = withChats(loaded(), [chat(7, message(3, OTHER))])
      const reactions = [
        {
          emoji: '👍',
          count: 2,
          users: [
            { id: ME, name: 'Me' },
            { id: OTHER, name: 'Other' },
          ],
        },
      ]
      state = applyUpdate(
        state,
        update('message:reaction', {
          chat_id: 7,
          message_id: 103,
          user_id: ME,
          emoji: '👍',
          action: 'added',
          reactions,
        }),
        away,
      )
      expect(state.conversations[7]?.byId[103]?.reactions).toEqual(reactions)
      expect(state.chats[7]?.last_message?.reactions).toEqual(reactions)
      state = applyUpdate(
        state,
        update('message:reaction', {
          chat_id: 7,
          message_id: 103,
          user_id: ME,
          emoji: '👍',
          action: 'removed',
          reactions: [],
        }),
        away,
      )
      expect(state.conversations[7]?.byId[103]?.reactions).toEqual([])
    })

    it('a history page with the same reaction count but other people replaces the reactions', () => {
      const state = withMessages(
        loaded(),
        7,
        [message(1, OTHER, { reactions: [{ emoji: '👍', count: 1, users: [{ id: ME, name: 'Me' }] }] })],
        {},
      )
      const next = withMessages(
        state,
        7,
        [
          message(1, OTHER, {
            reactions: [{ emoji: '👍', count: 1, users: [{ id: OTHER, name: 'Other' }] }],
          }),
        ],
        {},
      )
      expect(next.conversations[7]?.byId[101]?.reactions[0]?.users[0]?.id).toBe(OTHER)
    })

    it('updates about messages outside the loaded window leave it without holes', () => {
      // The window is the page around seq 50 (a deep link): older and newer history exist.
      let state = withMessages(start(), 7, [message(49, OTHER), message(50, ME), message(51, OTHER)], {
        replace: true,
        hasMoreBefore: true,
        hasMoreAfter: true,
      })
      state = applyUpdate(state, newMessage(30, message(90, OTHER)), away)
      state = applyUpdate(
        state,
        update('message:edited', {
          chat_id: 7,
          message: message(10, ME, { edited_at: '2026-01-02T00:00:00.000Z' }),
        }),
        away,
      )
      expect(state.conversations[7]?.order).toEqual([149, 150, 151])
      // Jumping back to the live end replaces the window.
      state = withMessages(state, 7, [message(89, OTHER), message(90, OTHER)], {
        replace: true,
        hasMoreBefore: true,
      })
      expect(state.conversations[7]?.order).toEqual([189, 190])
      expect(state.conversations[7]?.hasMoreAfter).toBe(false)
      // At the live end, new messages join again.
      state = applyUpdate(state, newMessage(31, message(91, OTHER)), away)
      expect(state.conversations[7]?.order).toEqual([189, 190, 191])
    })

    it('finds the first unread message from others, and my last editable message', () => {
      const conversation = withMessages(
        start(),
        7,
        [
          message(1, OTHER),
          message(2, ME),
          message(3, OTHER),
          message(4, OTHER),
          message(5, ME, { deleted: true, content: null }),
        ],
        { hasMoreBefore: false },
      ).conversations[7]
      if (!conversation) throw new Error('no conversation')
      expect(firstUnreadId(conversation, ME, 0)).toBeNull()
      expect(firstUnreadId(conversation, ME, 2)).toBe(103)
      // More unread than loaded: the oldest loaded message from others.
      expect(firstUnreadId(conversation, ME, 9)).toBe(101)
      expect(lastEditable(conversation, ME)?.id).toBe(102)
      expect(lastEditable(conversation, OTHER)?.id).toBe(104)
    })
  })
})
