import type { EphemeralEvent, ReplyErrorFrame, SocketRequests, Update } from '@parley/protocol'

/**
 * The one place that writes `/ws` frames as text and peeks into them (packages/protocol/src/socket.ts
 * declares their shapes). Update frames are built by concatenation on purpose: a change's data is
 * serialised once and only the seq differs per recipient, and the gateway reads a frame's seq and
 * sender back from the bytes without parsing. Both sides of that unwritten contract live here, beside
 * a test that round-trips them (wire.test.ts).
 */

const UPDATE_PREFIX = '{"op":"update","seq":'

/** The part of an update frame that is the same for every recipient, from the data serialised once. */
export const updateTail = (type: Update['type'], dataJson: string): string =>
  `,"type":${JSON.stringify(type)},"data":${dataJson}}`

/** One recipient's update frame: the prefix, their seq, the shared tail. */
export const updateFrame = (seq: number, tail: string): string => `${UPDATE_PREFIX}${seq}${tail}`

/** An update read from the log (catch-up, gap fill), in exactly the live frames' layout. */
export const encodeUpdate = (update: Update): string =>
  updateFrame(update.seq, updateTail(update.type, JSON.stringify(update.data)))

export const encodeEvent = (event: EphemeralEvent): string =>
  JSON.stringify({ op: 'event', type: event.type, data: event.data })

export const encodeReady = (seq: number, sessionId: string): string =>
  JSON.stringify({ op: 'ready', seq, session_id: sessionId })

export const encodeResyncRequired = (currentSeq: number): string =>
  JSON.stringify({ op: 'resync_required', current_seq: currentSeq })

export const PONG = '{"op":"pong"}'

export const encodeReplyOk = (id: string, data: SocketRequests[keyof SocketRequests]['data']): string =>
  JSON.stringify({ op: 'reply', id, ok: true, data })

export const encodeReplyError = (id: string, error: ReplyErrorFrame['error']): string =>
  JSON.stringify({
    op: 'reply',
    id,
    ok: false,
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  })

/** The seq of an update frame built above, read without parsing the frame; NaN for any other frame. */
export function peekUpdateSeq(frame: string): number {
  return frame.startsWith(UPDATE_PREFIX)
    ? Number(frame.slice(UPDATE_PREFIX.length, frame.indexOf(',', UPDATE_PREFIX.length)))
    : Number.NaN
}

const NEW_MESSAGE = '"type":"message:new"'
const SENDER = '"sender_id":'

/**
 * Whether an update frame may deliver someone else's message to `userId`, read from the frame's bytes:
 * the message's `sender_id` is the first one in a `message:new` frame (a string that contains
 * `"sender_id":` is escaped in JSON, so it cannot match). Unsure means yes: a false yes costs one
 * acknowledge(), a false no would lose a delivered tick.
 */
export function mayDeliver(frame: string, userId: number): boolean {
  if (!frame.includes(NEW_MESSAGE)) return false
  const at = frame.indexOf(SENDER)
  if (at < 0) return true
  const start = at + SENDER.length
  return frame.slice(start, frame.indexOf(',', start)) !== String(userId)
}
