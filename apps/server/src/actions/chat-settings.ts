import type { ChatSettingsBody } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { isoOrNull } from '../presenters/time.ts'
import { ChatRepository } from '../store/chat.repository.ts'
import type { ChatMemberRow, ChatRow } from '../store/schema.ts'
import { commit } from './commit.ts'

type SettingsDeps = Pick<Deps, 'store' | 'bus' | 'log' | 'clock'>

/**
 * Changes the caller's own settings of a chat: mute until a time (null unmutes; a past time is
 * "not muted"), pin, archive. They are nobody else's business, so `chat:settings` goes to the caller's
 * own log only (their other devices), and only when something changed. Pinning or archiving again
 * keeps the original time, so the chat keeps its place in the list. The three settings are
 * independent: archiving does not unpin (a pinned archived chat is first in the archived list).
 */
export async function updateChatSettings(
  deps: SettingsDeps,
  input: { actorId: number; chat: ChatRow; settings: ChatSettingsBody },
): Promise<ChatMemberRow> {
  const { actorId, chat, settings } = input
  const mutedUntil =
    settings.muted_until === undefined
      ? undefined
      : settings.muted_until === null
        ? null
        : Date.parse(settings.muted_until)
  return commit(deps, async (trx, log) => {
    const chats = new ChatRepository(trx)
    const before = await chats.findActiveMember(chat.id, actorId)
    if (!before) throw errors.notFound('Chat')
    const after = await chats.updateSettings(
      chat.id,
      actorId,
      {
        ...(mutedUntil === undefined ? {} : { mutedUntil }),
        ...(settings.pinned === undefined ? {} : { pinned: settings.pinned }),
        ...(settings.archived === undefined ? {} : { archived: settings.archived }),
      },
      log.now,
    )
    if (!after) throw errors.notFound('Chat')
    const changed =
      before.muted_until !== after.muted_until ||
      (before.pinned_at === null) !== (after.pinned_at === null) ||
      (before.archived_at === null) !== (after.archived_at === null)
    if (changed) {
      await log.append(
        'chat:settings',
        {
          chat_id: chat.id,
          muted_until: isoOrNull(after.muted_until),
          pinned: after.pinned_at !== null,
          archived: after.archived_at !== null,
        },
        [actorId],
      )
    }
    return after
  })
}
