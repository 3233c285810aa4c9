import type { Update } from '@parley/protocol'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPhoneUser, createUser, type TestUser } from './helpers/factories.ts'
import { request } from './helpers/media.ts'
import { image, pdf, postForm } from './helpers/media-messages.ts'
import { syncAll } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Profile and group photos (issue 10, seed 002 "Upload Avatar" and "Create Group" with an avatar):
 * uploaded as multipart, stored as an attachment, shown as its stable `/api/media/{id}/avatar_300` URL
 * in every view that has an `avatar_url`, under the owner's profile-photo privacy; removable.
 */
describe.each(MODES)('avatars (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  const token = (user: TestUser) => user.auth.tokens.access_token
  const AVATAR_URL = /^\/api\/media\/\d+\/avatar_300$/

  async function uploadAvatar(user: TestUser): Promise<string> {
    const answer = await postForm(server, token(user), '/api/user/avatar', [
      ['avatar', await image('jpeg', user.id, { width: 400, height: 400 }), 'image/jpeg', 'me.jpg'],
    ])
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ success: true, avatar_url: expect.stringMatching(AVATAR_URL) })
    return answer.body.avatar_url as string
  }

  it('a user avatar shows in the profile, to others, on their messages and in the chat list; removed, it is gone', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const url = await uploadAvatar(ada)
    expect((await ada.client.users.profile()).avatar_url).toBe(url)
    expect((await bob.client.users.get(ada.id)).user.avatar_url).toBe(url)
    // Each size the clients may ask for is stored (the pipeline ran with purpose 'avatar') and served.
    for (const size of [150, 300, 600]) {
      const sized = url.replace(/avatar_300$/, `avatar_${size}`)
      const redirect = await request(`${server.url}${sized}`, {
        headers: { authorization: `Bearer ${token(bob)}` },
      })
      expect(redirect.status, sized).toBe(302)
      const served = await request(String(redirect.headers.location))
      expect(served.status).toBe(200)
      const { width, height } = await sharp(served.body).metadata()
      // Square, at exactly the size named (a list cell or profile header lays it out without scaling).
      expect([width, height]).toEqual([size, size])
    }
    const { chat } = await ada.client.chats.open(bob.id)
    const { message } = await ada.client.messages.send(chat.id, { message_type: 'text', content: 'hi' })
    expect(message.sender?.avatar_url).toBe(url)
    const { chats } = await bob.client.chats.list()
    const listed = chats.find((c) => c.id === chat.id)
    expect([listed?.avatar_url, listed?.participant?.avatar_url]).toEqual([url, url])

    const removed = await ada.client.raw('DELETE', '/api/user/avatar')
    expect(removed.body).toEqual({ success: true, avatar_url: null })
    expect((await ada.client.users.profile()).avatar_url).toBeNull()
    expect((await bob.client.users.get(ada.id)).user.avatar_url).toBeNull()
  })

  it('the profile-photo privacy decides who sees the avatar', async () => {
    const [ada, friend, stranger] = await Promise.all([
      createUser(server),
      createPhoneUser(server),
      createUser(server),
    ])
    const url = await uploadAvatar(ada)
    await ada.client.contacts.add({ phone_number: friend.phone, contact_name: 'Friend' })
    await ada.client.users.updatePrivacy({ profile_photo: 'contacts' })
    expect((await friend.client.users.get(ada.id)).user.avatar_url).toBe(url)
    expect((await stranger.client.users.get(ada.id)).user.avatar_url).toBeNull()
    await ada.client.users.updatePrivacy({ profile_photo: 'nobody' })
    expect((await friend.client.users.get(ada.id)).user.avatar_url).toBeNull()
    // Always visible to its owner.
    expect((await ada.client.users.profile()).avatar_url).toBe(url)
  })

  it('refuses a file that is not an image (415), a missing avatar and unknown parts (400)', async () => {
    const ada = await createUser(server)
    const notImage = await postForm(server, token(ada), '/api/user/avatar', [
      ['avatar', pdf(), 'application/pdf', 'me.pdf'],
    ])
    expect(notImage.status).toBe(415)
    const none = await postForm(server, token(ada), '/api/user/avatar', [['name', 'x']])
    expect(none.status).toBe(400)
    const two = await postForm(server, token(ada), '/api/user/avatar', [
      ['avatar', await image(), 'image/png', 'a.png'],
      ['avatar', await image(), 'image/png', 'b.png'],
    ])
    expect(two.status).toBe(400)
    const json = await ada.client.raw('POST', '/api/user/avatar', { body: { avatar: 'x' } })
    expect(json.status).toBe(415)
    expect((await ada.client.users.profile()).avatar_url).toBeNull()
  })

  it('a group created with an avatar (multipart, seed 002) shows it to its members; admins change and remove it', async () => {
    const [ada, bob, carol] = await Promise.all([createUser(server), createUser(server), createUser(server)])
    const created = await postForm(server, token(ada), '/api/groups', [
      ['name', 'Dev Team'],
      ['description', 'Development team chat'],
      ['avatar', await image('png', 9), 'image/png', 'group.png'],
      ['participants', JSON.stringify([bob.id, carol.id])],
    ])
    expect(created.status).toBe(201)
    const group = created.body.group as { id: number; avatar_url: string; participants_count: number }
    expect(group).toMatchObject({
      name: 'Dev Team',
      description: 'Development team chat',
      participants_count: 3,
      avatar_url: expect.stringMatching(AVATAR_URL),
    })
    expect((await bob.client.groups.get(group.id)).avatar_url).toBe(group.avatar_url)
    expect((await carol.client.chats.get(group.id)).chat.avatar_url).toBe(group.avatar_url)

    // Repeated participant fields work as well as a JSON array.
    const repeated = await postForm(server, token(bob), '/api/groups', [
      ['name', 'Pair'],
      ['participants', String(ada.id)],
      ['participants', String(carol.id)],
    ])
    expect(repeated.status).toBe(201)
    expect(repeated.body.group).toMatchObject({ participants_count: 3, avatar_url: null })

    const since = (await syncAll(bob.client)).at(-1)?.seq ?? 0
    const changed = await postForm(
      server,
      token(ada),
      `/api/groups/${group.id}/avatar`,
      [['avatar', await image('jpeg', 10), 'image/jpeg', 'new.jpg']],
      'PUT',
    )
    expect(changed.status).toBe(200)
    const newUrl = (changed.body.group as { avatar_url: string }).avatar_url
    expect(newUrl).toMatch(AVATAR_URL)
    expect(newUrl).not.toBe(group.avatar_url)
    const updates: Update[] = await syncAll(bob.client, since)
    const updated = updates.find((update) => update.type === 'chat:updated')
    expect(updated?.type === 'chat:updated' && updated.data.chat.avatar_url).toBe(newUrl)

    const notAdmin = await postForm(
      server,
      token(bob),
      `/api/groups/${group.id}/avatar`,
      [['avatar', await image(), 'image/png', 'x.png']],
      'PUT',
    )
    expect(notAdmin.status).toBe(403)
    const stranger = await createUser(server)
    const outsider = await postForm(
      server,
      token(stranger),
      `/api/groups/${group.id}/avatar`,
      [['avatar', await image(), 'image/png', 'x.png']],
      'PUT',
    )
    expect(outsider.status).toBe(404)

    const removed = await ada.client.raw('DELETE', `/api/groups/${group.id}/avatar`)
    expect(removed.status).toBe(200)
    expect((await bob.client.groups.get(group.id)).avatar_url).toBeNull()
  })

  it('refuses a multipart group without a name or with bad participants (400), creating nothing', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const noName = await postForm(server, token(ada), '/api/groups', [['participants', `[${bob.id}]`]])
    expect(noName.status).toBe(400)
    const badList = await postForm(server, token(ada), '/api/groups', [
      ['name', 'x'],
      ['participants', '[1, "two"'],
    ])
    expect(badList.status).toBe(400)
    const { chats } = await ada.client.chats.list()
    expect(chats).toEqual([])
  })
})
