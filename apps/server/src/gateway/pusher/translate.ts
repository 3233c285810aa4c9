import type { EphemeralEvent, Update } from '@parley/protocol'
import { chatChannelName, presenceChannelName, userChannelName } from '../../access/broadcasting.ts'

/** One Pusher event to send on one channel (if this socket is subscribed to it). */
export interface PusherEvent {
  channel: string
  event: string
  data: unknown
}

/** What a translation may look up (names of readers and typers, the message at a receipt's seq). */
export interface Lookups {
  userName(userId: number): Promise<string | null>
  messageIdAtSeq(chatId: number, seq: number): Promise<number | null>
  /** True when this socket is subscribed to the channel: nothing is looked up for a channel nobody hears. */
  subscribed(channel: string): boolean
}

/** The Pusher event name under which every update of the user's log is also sent on their user channel. */
export const UPDATE_EVENT = 'parley-update'

/**
 * An update of the user's log (the same frame `/ws` sends) as the Pusher events seed 002 names
 * (docs/api/pusher.md has the table). Every update also goes, whole and with its seq, as
 * `parley-update` on `private-user.{me}`, so a Pusher client misses nothing the log holds.
 */
export async function translateUpdate(me: number, update: Update, look: Lookups): Promise<PusherEvent[]> {
  const events: PusherEvent[] = []
  const userChannel = userChannelName(me)
  if (look.subscribed(userChannel)) {
    events.push({ channel: userChannel, event: UPDATE_EVENT, data: update })
  }
  switch (update.type) {
    case 'message:new': {
      const channel = chatChannelName(update.data.chat_id)
      if (look.subscribed(channel)) {
        events.push({
          channel,
          event: 'new-message',
          data: { chat_id: update.data.chat_id, message: update.data.message },
        })
      }
      break
    }
    case 'message:read':
    case 'message:delivered': {
      const { chat_id: chatId, user_id: userId } = update.data
      const channel = chatChannelName(chatId)
      if (!look.subscribed(channel)) break
      const read = update.type === 'message:read'
      const seq = read ? update.data.read_seq : update.data.delivered_seq
      const [messageId, name] = await Promise.all([look.messageIdAtSeq(chatId, seq), look.userName(userId)])
      const by = { id: userId, name }
      events.push({
        channel,
        event: 'message-status-updated',
        data: read
          ? {
              chat_id: chatId,
              message_id: messageId,
              status: 'read',
              read_at: update.data.read_at,
              read_seq: seq,
              read_by: by,
            }
          : {
              chat_id: chatId,
              message_id: messageId,
              status: 'delivered',
              delivered_at: update.data.delivered_at,
              delivered_seq: seq,
              delivered_by: by,
            },
      })
      break
    }
    default:
      break
  }
  return events
}

/**
 * An ephemeral event (typing, presence; the same frame `/ws` sends) as seed 002's events: typing as
 * `user-typing` on `presence-chat.{id}` and as the whisper `client-typing` on the chat's channels;
 * presence as `user-status-updated` on `private-user.{me}`.
 */
export async function translateEvent(
  me: number,
  event: EphemeralEvent,
  look: Lookups,
): Promise<PusherEvent[]> {
  switch (event.type) {
    case 'typing:start':
    case 'typing:stop': {
      const { chat_id: chatId, user_id: userId } = event.data
      const presence = presenceChannelName(chatId)
      const chat = chatChannelName(chatId)
      const channels = [presence, chat].filter((channel) => look.subscribed(channel))
      if (channels.length === 0) return []
      const data = {
        chat_id: chatId,
        user: { id: userId, name: await look.userName(userId) },
        is_typing: event.type === 'typing:start',
      }
      const events: PusherEvent[] = channels.map((channel) => ({ channel, event: 'client-typing', data }))
      if (look.subscribed(presence)) events.unshift({ channel: presence, event: 'user-typing', data })
      return events
    }
    case 'presence:online':
    case 'presence:offline': {
      const channel = userChannelName(me)
      if (!look.subscribed(channel)) return []
      return [
        {
          channel,
          event: 'user-status-updated',
          data: {
            contact_id: event.data.user_id,
            is_online: event.type === 'presence:online',
            last_seen_at: event.type === 'presence:offline' ? event.data.last_seen_at : null,
          },
        },
      ]
    }
    default:
      return []
  }
}
