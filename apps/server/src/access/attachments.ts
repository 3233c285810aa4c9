import type { Deps } from '../deps.ts'
import { visibleTo } from '../presenters/user.presenter.ts'
import type { AttachmentRow } from '../store/schema.ts'
import { relationTo } from './relations.ts'

/**
 * Whether `viewerId` may fetch the attachment's bytes (docs/api/media.md, "Who may fetch"):
 * - its owner (the uploader);
 * - a current member of a chat holding it in a message the viewer can see in history (not deleted for
 *   everyone, not hidden from the viewer);
 * - anyone a user's profile photo is visible to under that user's privacy, when it is their avatar;
 * - current members of a group whose avatar it is.
 * Anyone else gets the same 404 as for a missing id, so ids reveal nothing.
 */
export async function mayFetchAttachment(
  deps: Pick<Deps, 'store'>,
  viewerId: number,
  attachment: Pick<AttachmentRow, 'id' | 'owner_id'>,
): Promise<boolean> {
  if (attachment.owner_id === viewerId) return true
  const db = deps.store.db
  const inMessage = await db
    .selectFrom('message_attachments')
    .innerJoin('messages', 'messages.id', 'message_attachments.message_id')
    .innerJoin('chat_members', (join) =>
      join
        .onRef('chat_members.chat_id', '=', 'messages.chat_id')
        .on('chat_members.user_id', '=', viewerId)
        .on('chat_members.left_at', 'is', null),
    )
    .select('messages.id')
    .where('message_attachments.attachment_id', '=', attachment.id)
    .where('messages.deleted_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('message_hidden')
            .select('message_hidden.message_id')
            .whereRef('message_hidden.message_id', '=', 'messages.id')
            .where('message_hidden.user_id', '=', viewerId),
        ),
      ),
    )
    .limit(1)
    .executeTakeFirst()
  if (inMessage) return true

  const groupAvatar = await db
    .selectFrom('chats')
    .innerJoin('chat_members', 'chat_members.chat_id', 'chats.id')
    .select('chats.id')
    .where('chats.avatar_attachment_id', '=', attachment.id)
    .where('chat_members.user_id', '=', viewerId)
    .where('chat_members.left_at', 'is', null)
    .limit(1)
    .executeTakeFirst()
  if (groupAvatar) return true

  const owners = await db
    .selectFrom('users')
    .select(['id', 'privacy_profile_photo'])
    .where('avatar_attachment_id', '=', attachment.id)
    .where('deleted_at', 'is', null)
    .execute()
  for (const user of owners) {
    if (visibleTo(user.privacy_profile_photo, await relationTo(db, viewerId, user.id))) return true
  }
  return false
}
