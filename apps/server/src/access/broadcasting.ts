import type { Deps } from '../deps.ts'
import { ApiError, errors } from '../errors.ts'
import { NO_RELATION, visibleTo } from '../presenters/user.presenter.ts'
import { MessageRepository } from '../store/message.repository.ts'
import { SessionRepository } from '../store/session.repository.ts'
import { UserRepository } from '../store/user.repository.ts'
import { chatForMember } from './chats.ts'

/**
 * The channels of the Pusher face (docs/api/pusher.md), as seed 002 names them, and who may join them:
 * `private-user.{user_id}` only that user; `private-chat.{chat_id}` and `presence-chat.{chat_id}` only
 * current members of the chat, checked by the same `chatForMember` as REST. Used by
 * `POST /broadcasting/auth` (which signs) and by the gateway's Pusher face (which checks again on subscribe).
 */
export type BroadcastChannel =
  | { kind: 'user'; name: string; userId: number }
  | { kind: 'chat'; name: string; chatId: number }
  | { kind: 'presence'; name: string; chatId: number }

const CHANNEL = /^(private-user|private-chat|presence-chat)\.([1-9][0-9]{0,15})$/

/** The channel a name denotes, or null for any name Parley does not serve. */
export function parseChannel(name: string): BroadcastChannel | null {
  const match = CHANNEL.exec(name)
  if (!match) return null
  const id = Number(match[2])
  if (!Number.isSafeInteger(id)) return null
  switch (match[1]) {
    case 'private-user':
      return { kind: 'user', name, userId: id }
    case 'private-chat':
      return { kind: 'chat', name, chatId: id }
    default:
      return { kind: 'presence', name, chatId: id }
  }
}

export const presenceChannelName = (chatId: number) => `presence-chat.${chatId}`
export const chatChannelName = (chatId: number) => `private-chat.${chatId}`
export const userChannelName = (userId: number) => `private-user.${userId}`

/**
 * The channel `userId` may join, or `403 forbidden` (Laravel's answer, which pusher-js reports as a
 * subscription error with that status): for an unknown name, someone else's user channel, and a chat
 * that is missing or not the user's alike.
 */
export async function authorizeChannel(
  deps: Pick<Deps, 'store'>,
  userId: number,
  name: string,
): Promise<BroadcastChannel> {
  const channel = parseChannel(name)
  const refused = errors.forbidden('You may not subscribe to this channel')
  if (!channel) throw refused
  if (channel.kind === 'user') {
    if (channel.userId !== userId) throw refused
    return channel
  }
  try {
    await chatForMember(deps, userId, channel.chatId)
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') throw refused
    throw error
  }
  return channel
}

/** What the other members of a presence channel see of a user: name, and the photo only if public. */
export async function presenceInfo(
  deps: Pick<Deps, 'store'>,
  userId: number,
): Promise<{ name: string; avatar_url: string | null }> {
  const user = await new UserRepository(deps.store.db).findById(userId)
  if (!user) throw errors.notFound('User')
  return {
    name: user.name,
    avatar_url: visibleTo(user.privacy_profile_photo, NO_RELATION) ? user.avatar_url : null,
  }
}

/** A user's id and display name, as seed 002's events show a sender, reader or typer. */
export async function userBrief(
  deps: Pick<Deps, 'store'>,
  userId: number,
): Promise<{ id: number; name: string | null }> {
  const user = await new UserRepository(deps.store.db).findById(userId)
  return { id: userId, name: user?.name ?? null }
}

/** The id of the message at a chat's `seq` (a receipt's watermark), or null. */
export function messageIdAtSeq(
  deps: Pick<Deps, 'store'>,
  chatId: number,
  seq: number,
): Promise<number | null> {
  return new MessageRepository(deps.store.db).idAtSeq(chatId, seq)
}

/** True while the session is live (not revoked, not expired) and belongs to `userId`. */
export async function sessionIsLive(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: number,
  sessionId: string,
): Promise<boolean> {
  const session = await new SessionRepository(deps.store.db).findLive(sessionId, deps.clock.now())
  return session?.user_id === userId
}
