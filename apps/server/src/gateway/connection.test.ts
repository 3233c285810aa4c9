import { describe, expect, it } from 'vitest'
import { frameSeq, mayDeliver } from './connection.ts'

const frame = (type: string, data: unknown) =>
  `{"op":"update","seq":12,"type":${JSON.stringify(type)},"data":${JSON.stringify(data)}}`
const message = (senderId: number | null) => ({
  chat_id: 3,
  message: { id: 9, chat_id: 3, seq: 4, sender_id: senderId, reply_to: { sender_id: 7 } },
})

describe('frame inspection', () => {
  it('reads the seq of a published frame', () => {
    expect(frameSeq(frame('message:new', message(7)))).toBe(12)
  })

  it("says a message:new from someone else may deliver, one's own does not", () => {
    expect(mayDeliver(frame('message:new', message(7)), 5)).toBe(true)
    expect(mayDeliver(frame('message:new', message(5)), 5)).toBe(false)
    // A user id that is a prefix of the sender's is still someone else.
    expect(mayDeliver(frame('message:new', message(55)), 5)).toBe(true)
    // System messages have no sender: they count as someone else's.
    expect(mayDeliver(frame('message:new', message(null)), 5)).toBe(true)
  })

  it('says other updates deliver nothing', () => {
    expect(mayDeliver(frame('message:delivered', { chat_id: 3, user_id: 7, delivered_seq: 4 }), 5)).toBe(
      false,
    )
    expect(mayDeliver(frame('message:read', { chat_id: 3, user_id: 7, read_seq: 4 }), 5)).toBe(false)
  })
})
