import type { Transaction } from 'kysely'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { summariseReactions } from '../presenters/message.presenter.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { ChatRow, Database, MessageRow } from '../store/schema.ts'
import { UserRepository } from '../store/user.repository.ts'
import { commit, type UpdateLog } from './commit.ts'
import { messageAudience } from './message-ops.ts'

type ReactionDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

export interface ReactionCount {
  message_id: number
  emoji: string
  count: number
}

const EMOJI_PARTS =
  /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3)+$/u
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/**
 * One emoji: a single grapheme made of emoji code points only (pictographs, flags, keycaps, skin
 * tones, ZWJ sequences), so "👍", "👍🏽", "🇬🇧", "1️⃣" and "👩‍💻" pass and "ok", "👍👍" or " 👍" do not.
 * Emoji are compared as sent ("❤" and "❤️" are different reactions).
 */
export function isEmoji(value: string): boolean {
  if (!EMOJI_PARTS.test(value) || !PICTOGRAPH.test(value)) return false
  let count = 0
  for (const _ of graphemes.segment(value)) count += 1
  return count === 1
}

function checkEmoji(emoji: string): void {
  if (!isEmoji(emoji)) {
    throw errors.validation('A reaction is one emoji', [
      { field: 'emoji', message: 'must be a single emoji' },
    ])
  }
}

/** After a reaction changed: the count for its emoji, and `message:reaction` when something changed. */
async function settle(
  trx: Transaction<Database>,
  log: UpdateLog,
  input: {
    actorId: number
    chat: ChatRow
    message: MessageRow
    emoji: string
    action: 'added' | 'removed'
    changed: boolean
  },
): Promise<ReactionCount> {
  const { actorId, chat, message, emoji, action, changed } = input
  const messages = new MessageRepository(trx)
  const reactions = await messages.reactionsOf([message.id])
  const count = reactions.filter((reaction) => reaction.emoji === emoji).length
  if (changed) {
    const users = new Map(
      (await new UserRepository(trx).findByIds(reactions.map((reaction) => reaction.user_id))).map((user) => [
        user.id,
        user,
      ]),
    )
    const { audience } = await messageAudience(trx, message)
    await log.append(
      'message:reaction',
      {
        chat_id: chat.id,
        message_id: message.id,
        user_id: actorId,
        emoji,
        action,
        reactions: summariseReactions(reactions, users),
      },
      audience,
    )
  }
  return { message_id: message.id, emoji, count }
}

/**
 * Reacts to a message with an emoji: one reaction per user, message and emoji, so reacting again is
 * an idempotent no-op. Every member who can see the message gets `message:reaction` with the new
 * aggregated summary. A deleted message cannot be reacted to (409).
 */
export async function addReaction(
  deps: ReactionDeps,
  input: { actorId: number; chat: ChatRow; message: MessageRow; emoji: string },
): Promise<ReactionCount> {
  checkEmoji(input.emoji)
  if (input.message.deleted_at !== null) throw errors.conflict('A deleted message cannot be reacted to')
  return commit(deps, async (trx, log) => {
    const messages = new MessageRepository(trx)
    // The row lock first, then the read: a delete for everyone that commits in between would otherwise
    // be missed (PostgreSQL), and the reaction's update would land in the log after the delete's.
    await messages.lockRow(input.message.id)
    const current = await messages.findById(input.message.id)
    if (!current) throw errors.notFound('Message')
    if (current.deleted_at !== null) throw errors.conflict('A deleted message cannot be reacted to')
    const changed = await messages.addReaction(current.id, input.actorId, input.emoji, log.now)
    return settle(trx, log, { ...input, message: current, action: 'added', changed })
  })
}

/** Takes the caller's reaction back; removing one that is not there changes nothing (idempotent). */
export async function removeReaction(
  deps: ReactionDeps,
  input: { actorId: number; chat: ChatRow; message: MessageRow; emoji: string },
): Promise<ReactionCount> {
  return commit(deps, async (trx, log) => {
    const messages = new MessageRepository(trx)
    await messages.lockRow(input.message.id)
    // A message deleted for everyone has no reactions to show: nothing to take back, no update.
    const current = await messages.findById(input.message.id)
    if (!current || current.deleted_at !== null)
      return { message_id: input.message.id, emoji: input.emoji, count: 0 }
    const changed = await messages.removeReaction(input.message.id, input.actorId, input.emoji)
    return settle(trx, log, { ...input, message: current, action: 'removed', changed })
  })
}
