import { cleanText, type PrivacySettings } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { attachmentUrl } from '../presenters/attachment.presenter.ts'
import { AttachmentRepository } from '../store/attachment.repository.ts'
import type { AttachmentRow } from '../store/schema.ts'
import { type User, UserRepository } from '../store/user.repository.ts'
import { cleanName } from './names.ts'

/** Changes the caller's name and/or about; only the given fields are written. */
export async function updateProfile(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: { actorId: number; name?: string | undefined; about?: string | undefined },
): Promise<User> {
  const changes: { name?: string; about?: string } = {}
  if (input.name !== undefined) {
    changes.name = cleanName(input.name, 'name')
  }
  if (input.about !== undefined) changes.about = cleanText(input.about)
  return writeUser(deps, input.actorId, changes)
}

/** Changes who sees the caller's last seen, photo and about; only the given settings are written. */
export async function updatePrivacy(
  deps: Pick<Deps, 'store' | 'clock'>,
  input: { actorId: number; settings: Partial<PrivacySettings> },
): Promise<User> {
  const { last_seen, profile_photo, about } = input.settings
  return writeUser(deps, input.actorId, {
    ...(last_seen === undefined ? {} : { privacy_last_seen: last_seen }),
    ...(profile_photo === undefined ? {} : { privacy_profile_photo: profile_photo }),
    ...(about === undefined ? {} : { privacy_about: about }),
  })
}

async function writeUser(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: number,
  changes: Parameters<UserRepository['update']>[1],
): Promise<User> {
  return deps.store.db.transaction().execute(async (trx) => {
    const users = new UserRepository(trx)
    await users.update(userId, { ...changes, updated_at: deps.clock.now() })
    const user = await users.findById(userId)
    if (!user) throw errors.notFound('User')
    return user
  })
}

/**
 * The stable URL an avatar is shown by: its 300 px variant (`avatar_150` / `avatar_600` name the other
 * sizes). Stored in `avatar_url` beside `avatar_attachment_id`, so every view that shows an avatar
 * (users, contacts, chats, groups, senders) reads it as it always did, privacy applied by the presenters.
 */
export function avatarUrl(baseUrl: string | null, attachmentId: number): string {
  return attachmentUrl(baseUrl, attachmentId, 'avatar_300')
}

/**
 * Makes a ready image of the caller's their profile photo (`attachment` from an ingest with purpose
 * `avatar`), or removes it (`null`). The previous photo is no longer referenced; housekeeping removes
 * its blobs.
 */
export async function setUserAvatar(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  input: { actorId: number; attachment: AttachmentRow | null },
): Promise<User> {
  const { actorId, attachment } = input
  if (
    attachment &&
    (attachment.owner_id !== actorId || attachment.state !== 'ready' || attachment.kind !== 'image')
  )
    throw errors.notFound('Attachment')
  return deps.store.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const users = new UserRepository(trx)
    await users.update(actorId, {
      avatar_url: attachment ? avatarUrl(deps.config.publicUrl, attachment.id) : null,
      avatar_attachment_id: attachment?.id ?? null,
      updated_at: now,
    })
    if (attachment) await new AttachmentRepository(trx).markAttached([attachment.id], now)
    const user = await users.findById(actorId)
    if (!user) throw errors.notFound('User')
    return user
  })
}
