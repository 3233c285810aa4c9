import { cleanText, type PrivacySettings } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
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
