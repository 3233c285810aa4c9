import crypto from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UserRepository } from '../src/store/user.repository.ts'
import { createPhoneUser, createUser, type TestUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const LAST_SEEN = Date.UTC(2026, 0, 1, 12, 0, 0)
const AVATAR = 'https://media.example/avatars/target.jpg'

/**
 * Arrange only: gives a user a photo and a last-seen time, which no route sets yet (avatar upload and
 * presence come later). Every assertion still reads what the API answers.
 */
async function givePhotoAndLastSeen(server: TestServer, userId: number) {
  await new UserRepository(server.deps.store.db).update(userId, {
    avatar_url: AVATAR,
    last_seen_at: LAST_SEEN,
  })
}

const tag = () => crypto.randomBytes(3).toString('hex')

describe.each(MODES)('users (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  describe('own profile', () => {
    it('GET /api/user/profile answers the caller with nothing hidden', async () => {
      const ada = await createUser(server, { name: 'Ada Lovelace' })
      const { success, user } = await ada.client.users.profile()
      expect(success).toBe(true)
      expect(user).toMatchObject({
        id: ada.id,
        username: ada.username,
        name: 'Ada Lovelace',
        phone_number: null,
        avatar_url: null,
        about: 'Hey there! I am using Parley.',
        privacy_settings: { last_seen: 'everyone', profile_photo: 'everyone', about: 'everyone' },
        last_seen_at: null,
        is_online: false,
      })
      expect(Date.parse(user.created_at)).not.toBeNaN()
    })

    it('a phone user sees their own number', async () => {
      const phoneUser = await createPhoneUser(server)
      const { user } = await phoneUser.client.users.profile()
      expect(user.phone_number).toBe(phoneUser.phone)
    })

    it('PUT /api/user/profile changes only the fields sent and moves updated_at', async () => {
      const ada = await createUser(server, { name: 'Ada' })
      const before = (await ada.client.users.profile()).user
      server.clock.advance(60_000)

      const aboutOnly = await ada.client.users.updateProfile({ about: 'Counting engines' })
      expect(aboutOnly.user).toMatchObject({ name: 'Ada', about: 'Counting engines' })
      expect(Date.parse(aboutOnly.user.updated_at)).toBe(Date.parse(before.updated_at) + 60_000)

      const nameOnly = await ada.client.users.updateProfile({ name: '  Countess Ada  ' })
      expect(nameOnly.user).toMatchObject({ name: 'Countess Ada', about: 'Counting engines' })
      expect((await ada.client.users.profile()).user).toMatchObject({
        name: 'Countess Ada',
        about: 'Counting engines',
        created_at: before.created_at,
      })
    })

    it('an empty about is allowed', async () => {
      const ada = await createUser(server)
      const { user } = await ada.client.users.updateProfile({ about: '' })
      expect(user.about).toBe('')
    })

    it('rejects an empty body, unknown fields and blank or over-long names', async () => {
      const ada = await createUser(server, { name: 'Ada' })
      const bad: unknown[] = [
        {},
        { name: 'Ada', nickname: 'A' },
        { phone_number: '+14155550100' },
        { name: '' },
        { name: '   ' },
        { name: 'x'.repeat(101) },
        { about: 'x'.repeat(501) },
        { name: 42 },
      ]
      for (const body of bad) {
        const { status, body: answer } = await ada.client.raw('PUT', '/api/user/profile', { body })
        expect({ body, status, answer }).toMatchObject({
          status: 400,
          answer: { success: false, error: { code: 'validation_error' } },
        })
      }
      expect((await ada.client.users.profile()).user.name).toBe('Ada')
    })

    it('malformed JSON is invalid_body', async () => {
      const ada = await createUser(server)
      const { status, body } = await ada.client.raw('PUT', '/api/user/profile', { body: '{"name": ' })
      expect(status).toBe(400)
      expect(body).toMatchObject({ success: false, error: { code: 'invalid_body' } })
    })

    it('PUT /api/user/privacy changes only the settings sent', async () => {
      const ada = await createUser(server)
      const first = await ada.client.users.updatePrivacy({ last_seen: 'contacts' })
      expect(first).toEqual({
        success: true,
        privacy_settings: { last_seen: 'contacts', profile_photo: 'everyone', about: 'everyone' },
      })
      const second = await ada.client.users.updatePrivacy({ profile_photo: 'nobody', about: 'contacts' })
      expect(second.privacy_settings).toEqual({
        last_seen: 'contacts',
        profile_photo: 'nobody',
        about: 'contacts',
      })
      expect((await ada.client.users.profile()).user.privacy_settings).toEqual(second.privacy_settings)
    })

    it('rejects bad privacy values, an empty body and unknown settings', async () => {
      const ada = await createUser(server)
      for (const body of [
        { last_seen: 'friends' },
        { about: null },
        {},
        { read_receipts: 'nobody' },
        { last_seen: 'everyone', typo: 'x' },
      ]) {
        await expect(
          ada.client.call('PUT', '/api/user/privacy', { body }),
          JSON.stringify(body),
        ).rejects.toMatchObject({ status: 400, code: 'validation_error' })
      }
      expect((await ada.client.users.profile()).user.privacy_settings).toEqual({
        last_seen: 'everyone',
        profile_photo: 'everyone',
        about: 'everyone',
      })
    })

    it('refuses anonymous and bad tokens', async () => {
      const anonymous = server.client()
      await expect(anonymous.users.profile()).rejects.toMatchObject({ status: 401, code: 'unauthorized' })
      await expect(anonymous.users.updateProfile({ name: 'x' })).rejects.toMatchObject({ status: 401 })
      await expect(anonymous.users.updatePrivacy({ about: 'nobody' })).rejects.toMatchObject({ status: 401 })
      await expect(anonymous.users.get(1)).rejects.toMatchObject({ status: 401 })
      await expect(anonymous.users.search('a')).rejects.toMatchObject({ status: 401 })
      await expect(server.client('not-a-token').users.profile()).rejects.toMatchObject({ status: 401 })
    })
  })

  describe("another user's profile", () => {
    /** A phone user (so others can save them) with a photo, an about and a last-seen time. */
    async function target() {
      const user = await createPhoneUser(server)
      await user.client.users.updateProfile({ name: 'Tess Target', about: 'Out fishing' })
      await givePhotoAndLastSeen(server, user.id)
      return user
    }
    const everythingShown = {
      name: 'Tess Target',
      avatar_url: AVATAR,
      about: 'Out fishing',
      last_seen_at: new Date(LAST_SEEN).toISOString(),
      is_online: false,
    }
    const everythingHidden = { name: 'Tess Target', avatar_url: null, about: null, last_seen_at: null }

    it('shows a stranger what "everyone" allows, but not the phone number', async () => {
      const tess = await target()
      const viewer = await createUser(server)
      const { success, user } = await viewer.client.users.get(tess.id)
      expect(success).toBe(true)
      expect(user).toEqual({
        id: tess.id,
        username: null,
        phone_number: null,
        is_contact: false,
        is_blocked: false,
        ...everythingShown,
      })
    })

    it('"contacts" hides from non-contacts and shows to people the target saved', async () => {
      const tess = await target()
      await tess.client.users.updatePrivacy({
        last_seen: 'contacts',
        profile_photo: 'contacts',
        about: 'contacts',
      })
      const friend = await createPhoneUser(server)
      const stranger = await createUser(server)

      expect((await stranger.client.users.get(tess.id)).user).toMatchObject(everythingHidden)
      expect((await friend.client.users.get(tess.id)).user).toMatchObject(everythingHidden)

      // Saving Tess on the viewer's side changes nothing: "contacts" means Tess's contacts.
      await friend.client.contacts.add({ phone_number: tess.phone, contact_name: 'Tess' })
      expect((await friend.client.users.get(tess.id)).user).toMatchObject({
        ...everythingHidden,
        is_contact: true,
        phone_number: tess.phone,
      })

      await tess.client.contacts.add({ phone_number: friend.phone, contact_name: 'Friend' })
      expect((await friend.client.users.get(tess.id)).user).toMatchObject({
        ...everythingShown,
        is_contact: true,
      })
      expect((await stranger.client.users.get(tess.id)).user).toMatchObject(everythingHidden)
    })

    it('each setting guards its own field', async () => {
      const tess = await target()
      const viewer = await createUser(server)
      await tess.client.users.updatePrivacy({ about: 'nobody' })
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject({
        ...everythingShown,
        about: null,
      })
      await tess.client.users.updatePrivacy({ about: 'everyone', profile_photo: 'nobody' })
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject({
        ...everythingShown,
        avatar_url: null,
      })
      await tess.client.users.updatePrivacy({ profile_photo: 'everyone', last_seen: 'nobody' })
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject({
        ...everythingShown,
        last_seen_at: null,
      })
    })

    it('"nobody" hides even from contacts', async () => {
      const tess = await target()
      const friend = await createPhoneUser(server)
      await tess.client.contacts.add({ phone_number: friend.phone, contact_name: 'Friend' })
      await tess.client.users.updatePrivacy({ last_seen: 'nobody', profile_photo: 'nobody', about: 'nobody' })
      expect((await friend.client.users.get(tess.id)).user).toMatchObject({
        ...everythingHidden,
        phone_number: tess.phone,
      })
    })

    it('someone who blocked the viewer shows nothing private, even to a contact', async () => {
      const tess = await target()
      const viewer = await createPhoneUser(server)
      await tess.client.contacts.add({ phone_number: viewer.phone, contact_name: 'Viewer' })
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject(everythingShown)

      await tess.client.contacts.block(viewer.id)
      const { user } = await viewer.client.users.get(tess.id)
      expect(user).toMatchObject({ ...everythingHidden, is_blocked: false })

      await tess.client.contacts.unblock(viewer.id)
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject(everythingShown)
    })

    it('tells the viewer whom they blocked', async () => {
      const tess = await target()
      const viewer = await createUser(server)
      await viewer.client.contacts.block(tess.id)
      expect((await viewer.client.users.get(tess.id)).user).toMatchObject({
        ...everythingShown,
        is_blocked: true,
      })
    })

    it('a missing user is not_found; a malformed id is a validation error', async () => {
      const viewer = await createUser(server)
      await expect(viewer.client.users.get(999_999)).rejects.toMatchObject({ status: 404, code: 'not_found' })
      for (const path of ['/api/users/abc', '/api/users/0', '/api/users/-3', '/api/users/1.5']) {
        const { status, body } = await viewer.client.raw('GET', path)
        expect({ path, status, body }).toMatchObject({
          status: 400,
          body: { error: { code: 'validation_error' } },
        })
      }
    })
  })

  describe('search', () => {
    /** Registers users whose usernames share a fresh prefix; returns them in creation (id) order. */
    async function people(prefix: string, count: number, name = (i: number) => `Person ${i}`) {
      const created: TestUser[] = []
      for (let i = 0; i < count; i++) {
        created.push(await createUser(server, { username: `${prefix}${i}`, name: name(i) }))
      }
      return created
    }

    it('finds by username prefix, case-insensitively, and leaves out the caller', async () => {
      const prefix = `srch${tag()}_`
      const [first, second] = await people(prefix, 2)
      const caller = await createUser(server, { username: `${prefix}me` })
      const { users, pagination } = await caller.client.users.search(prefix.toUpperCase())
      expect(users.map((user) => user.id)).toEqual([first?.id, second?.id])
      expect(users[0]).toEqual({
        id: first?.id,
        username: `${prefix}0`,
        name: 'Person 0',
        phone_number: null,
        avatar_url: null,
        about: 'Hey there! I am using Parley.',
        last_seen_at: null,
        is_online: false,
        is_contact: false,
        is_blocked: false,
      })
      expect(pagination).toEqual({ next_cursor: null, has_more: false })
    })

    it('finds by name prefix, case-insensitively', async () => {
      const word = `Zebedee${tag()}`
      const [grace] = await people(`nm${tag()}_`, 1, () => `${word} Hopper`)
      const caller = await createUser(server)
      const { users } = await caller.client.users.search(word.toLowerCase())
      expect(users.map((user) => user.name)).toEqual([`${word} Hopper`])
      expect(users[0]?.id).toBe(grace?.id)
      // A prefix, not a substring.
      expect((await caller.client.users.search('Hopper')).users.map((u) => u.id)).not.toContain(grace?.id)
    })

    it('finds by exact phone number, however it is written, without revealing it', async () => {
      const phoneUser = await createPhoneUser(server)
      // Phone sign-ups are named after their number until they choose a name.
      await phoneUser.client.users.updateProfile({ name: `Phoebe ${tag()}` })
      const caller = await createUser(server)
      const digits = phoneUser.phone.slice(1)
      const spaced = `+${digits.slice(0, 1)} (${digits.slice(1, 4)}) ${digits.slice(4, 7)}-${digits.slice(7)}`
      for (const q of [phoneUser.phone, spaced, digits]) {
        const { users } = await caller.client.users.search(q)
        expect({ q, ids: users.map((user) => user.id) }).toEqual({ q, ids: [phoneUser.id] })
        expect(users[0]?.phone_number).toBeNull()
      }
      // Only the exact number: a prefix of it finds nobody by phone.
      const { users } = await caller.client.users.search(phoneUser.phone.slice(0, -2))
      expect(users.map((user) => user.id)).not.toContain(phoneUser.id)
    })

    it('treats % and _ in the query literally', async () => {
      const prefix = `lk${tag()}`
      const [plain] = await people(prefix, 1)
      const [underscored] = await people(`${prefix}_`, 1)
      const caller = await createUser(server)
      expect((await caller.client.users.search(`${prefix}_`)).users.map((u) => u.id)).toEqual([
        underscored?.id,
      ])
      expect((await caller.client.users.search(`${prefix}%`)).users).toEqual([])
      expect((await caller.client.users.search('%')).users).toEqual([])
      expect((await caller.client.users.search(prefix)).users.map((u) => u.id)).toEqual([
        plain?.id,
        underscored?.id,
      ])
    })

    it('pages through every match exactly once', async () => {
      const prefix = `pg${tag()}_`
      const everyone = await people(prefix, 7)
      const caller = await createUser(server)
      const seen: number[] = []
      let cursor: string | undefined
      let pages = 0
      for (;;) {
        const { users, pagination } = await caller.client.users.search(prefix, {
          limit: 3,
          ...(cursor ? { cursor } : {}),
        })
        pages++
        seen.push(...users.map((user) => user.id))
        expect(users.length).toBeLessThanOrEqual(3)
        expect(pagination.has_more).toBe(pagination.next_cursor !== null)
        if (!pagination.next_cursor) break
        cursor = pagination.next_cursor
      }
      expect(pages).toBe(3)
      expect(seen).toEqual(everyone.map((user) => user.id))
      expect(new Set(seen).size).toBe(7)
    })

    it('an exact last page says there is no more', async () => {
      const prefix = `ex${tag()}_`
      await people(prefix, 2)
      const caller = await createUser(server)
      const { users, pagination } = await caller.client.users.search(prefix, { limit: 2 })
      expect(users).toHaveLength(2)
      expect(pagination).toEqual({ next_cursor: null, has_more: false })
    })

    it('hides people who blocked the caller, but shows people the caller blocked', async () => {
      const prefix = `bl${tag()}_`
      const [blocker, blocked, bystander] = await people(prefix, 3)
      const caller = await createUser(server)
      await blocker?.client.contacts.block(caller.id)
      await caller.client.contacts.block(blocked?.id ?? 0)
      const { users } = await caller.client.users.search(prefix)
      expect(users.map((user) => [user.id, user.is_blocked])).toEqual([
        [blocked?.id, true],
        [bystander?.id, false],
      ])
      // The block hides the caller only from the blocker's search, not the other way round.
      const back = await blocker?.client.users.search(caller.username)
      expect(back?.users.map((user) => user.id)).toEqual([caller.id])
    })

    it("applies each match's privacy settings", async () => {
      const prefix = `pv${tag()}_`
      const [shy] = await people(prefix, 1)
      await shy?.client.users.updatePrivacy({ about: 'nobody' })
      const caller = await createUser(server)
      const { users } = await caller.client.users.search(prefix)
      expect(users[0]).toMatchObject({ id: shy?.id, about: null })
    })

    it('rejects bad queries, limits and cursors', async () => {
      const caller = await createUser(server)
      const bad: Array<Record<string, string>> = [
        {},
        { q: '' },
        { q: '   ' },
        { q: 'x'.repeat(101) },
        { q: 'a', limit: '0' },
        { q: 'a', limit: '51' },
        { q: 'a', limit: 'ten' },
        { q: 'a', cursor: 'not a cursor!' },
        { q: 'a', cursor: Buffer.from('-5').toString('base64url') },
        { q: 'a', page: '2' },
      ]
      for (const query of bad) {
        const { status, body } = await caller.client.raw('GET', '/api/users/search', { query })
        expect({ query, status, body }).toMatchObject({
          status: 400,
          body: { success: false, error: { code: 'validation_error' } },
        })
      }
    })
  })
})
