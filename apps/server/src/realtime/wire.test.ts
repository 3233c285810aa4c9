import {
  EventFrame,
  ReadyFrame,
  ReplyErrorFrame,
  ReplyOkFrame,
  ResyncRequiredFrame,
  UpdateFrame,
} from '@parley/protocol'
import { FormatRegistry } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeEvent,
  encodeReady,
  encodeReplyError,
  encodeReplyOk,
  encodeResyncRequired,
  encodeUpdate,
  mayDeliver,
  peekUpdateSeq,
  updateFrame,
  updateTail,
} from './wire.ts'

if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)))

const message = (senderId: number | null, content = 'hi') => ({
  id: 9,
  chat_id: 3,
  seq: 4,
  sender_id: senderId,
  sender: senderId === null ? null : { id: senderId, name: 'Ada', avatar_url: null },
  client_msg_id: 'c-1',
  message_type: 'text' as const,
  content,
  location: null,
  contact: null,
  system: null,
  attachments: [],
  media_url: null,
  thumbnail_url: null,
  media_size: null,
  reply_to_message_id: 2,
  reply_to: {
    id: 2,
    sender_id: 7,
    message_type: 'text' as const,
    content: 'x',
    thumbnail_url: null,
    deleted: false,
  },
  forwarded: false,
  reactions: [],
  status: null,
  delivered_count: null,
  read_count: null,
  deleted: false,
  sent_at: '2026-01-01T00:00:00.000Z',
  edited_at: null,
})
const newMessage = (seq: number, senderId: number | null, content?: string) => ({
  seq,
  type: 'message:new' as const,
  data: { chat_id: 3, message: message(senderId, content) },
})

describe('wire: the frames the gateway sends, and peeking into them', () => {
  it('round-trips an update: the live layout (tail shared by recipients) equals the log layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.string({ unit: 'binary' }),
        (seq, text) => {
          const update = newMessage(seq, 5, text)
          const live = updateFrame(seq, updateTail(update.type, JSON.stringify(update.data)))
          expect(live).toBe(encodeUpdate(update))
          expect(JSON.parse(live)).toEqual({ op: 'update', ...update })
          expect(Value.Check(UpdateFrame, JSON.parse(live))).toBe(true)
          expect(peekUpdateSeq(live)).toBe(seq)
        },
      ),
    )
  })

  it('peeks NaN for a frame that is not an update', () => {
    expect(peekUpdateSeq(encodeReady(3, 's'))).toBeNaN()
    expect(peekUpdateSeq(encodeEvent({ type: 'presence:online', data: { user_id: 1 } }))).toBeNaN()
  })

  it("says a message:new from someone else may deliver, one's own does not, whatever the text says", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.string({ unit: 'binary' }),
        (sender, reader, text) => {
          const frame = encodeUpdate(newMessage(12, sender, `${text}"sender_id":${reader},`))
          expect(mayDeliver(frame, reader)).toBe(sender !== reader)
        },
      ),
    )
    // A user id that is a prefix of the sender's is still someone else.
    expect(mayDeliver(encodeUpdate(newMessage(12, 55)), 5)).toBe(true)
    // System messages have no sender: they count as someone else's.
    expect(mayDeliver(encodeUpdate(newMessage(12, null)), 5)).toBe(true)
  })

  it('says other updates deliver nothing', () => {
    const at = '2026-01-01T00:00:00.000Z'
    expect(
      mayDeliver(
        encodeUpdate({
          seq: 2,
          type: 'message:delivered',
          data: { chat_id: 3, user_id: 7, delivered_seq: 4, delivered_at: at },
        }),
        5,
      ),
    ).toBe(false)
    expect(
      mayDeliver(
        encodeUpdate({
          seq: 2,
          type: 'message:read',
          data: { chat_id: 3, user_id: 7, read_seq: 4, read_at: at },
        }),
        5,
      ),
    ).toBe(false)
  })

  it('encodes every other server frame as its protocol schema says', () => {
    expect(Value.Check(ReadyFrame, JSON.parse(encodeReady(4, 'sess')))).toBe(true)
    expect(Value.Check(ResyncRequiredFrame, JSON.parse(encodeResyncRequired(9)))).toBe(true)
    expect(
      Value.Check(
        EventFrame,
        JSON.parse(encodeEvent({ type: 'typing:start', data: { chat_id: 1, user_id: 2 } })),
      ),
    ).toBe(true)
    expect(
      Value.Check(
        ReplyOkFrame,
        JSON.parse(encodeReplyOk('r1', { read_seq: 3, read_at: '2026-01-01T00:00:00.000Z' })),
      ),
    ).toBe(true)
    const error = JSON.parse(
      encodeReplyError('r2', { code: 'rate_limited', message: 'slow down', details: { retry_after: 3 } }),
    )
    expect(Value.Check(ReplyErrorFrame, error)).toBe(true)
    expect(JSON.parse(encodeReplyError('r3', { code: 'not_found', message: 'x' }))).toEqual({
      op: 'reply',
      id: 'r3',
      ok: false,
      error: { code: 'not_found', message: 'x' },
    })
  })
})
