import type { ContactRequest } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPhoneUser, createUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

/** What a request's parties look like in a list: ids and names are what a user recognises. */
const parties = (requests: ContactRequest[]) =>
  requests.map((request) => ({ id: request.id, from: request.from_user.id, to: request.to_user.id }))

describe.each(MODES)('contacts (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(async () => {
    await server?.close()
  })

  /** A phone user with a chosen name (phone sign-ups start out named after their number). */
  async function phoneUser(name: string) {
    const user = await createPhoneUser(server)
    await user.client.users.updateProfile({ name })
    return user
  }

  describe('address book', () => {
    it('adds a contact by phone number, lists it, and renames it when added again', async () => {
      const ada = await createUser(server)
      const bob = await phoneUser('Robert')

      const added = await ada.client.raw('POST', '/api/contacts', {
        body: { phone_number: bob.phone, contact_name: 'Bob from work' },
      })
      expect(added.status).toBe(201)
      expect(added.body).toEqual({
        success: true,
        contact: {
          id: bob.id,
          name: 'Bob from work',
          username: null,
          phone_number: bob.phone,
          avatar_url: null,
          about: 'Hey there! I am using Parley.',
          is_contact: true,
          is_blocked: false,
          last_seen_at: null,
          is_online: false,
        },
      })
      expect((await ada.client.contacts.list()).contacts).toEqual([
        expect.objectContaining({ id: bob.id, name: 'Bob from work', phone_number: bob.phone }),
      ])

      const again = await ada.client.raw('POST', '/api/contacts', {
        body: { phone_number: bob.phone, contact_name: 'Bobby' },
      })
      expect(again.status).toBe(200)
      expect(again.body).toMatchObject({ success: true, contact: { id: bob.id, name: 'Bobby' } })
      const { contacts } = await ada.client.contacts.list()
      expect(contacts.map((contact) => [contact.id, contact.name])).toEqual([[bob.id, 'Bobby']])

      // Contacts are one-way: Bob's list is untouched.
      expect((await bob.client.contacts.list()).contacts).toEqual([])
    })

    it('takes a national number with a country code', async () => {
      const ada = await createUser(server)
      const cy = await phoneUser('Cy')
      const national = cy.phone.replace(/^\+1/, '')
      const { contact } = await ada.client.contacts.add({
        phone_number: national,
        country_code: '+1',
        contact_name: 'Cy',
      })
      expect(contact).toMatchObject({ id: cy.id, phone_number: cy.phone })
    })

    it('lists contacts by saved name with each one’s privacy applied', async () => {
      const ada = await phoneUser('Ada')
      const zed = await phoneUser('Zed')
      const amy = await phoneUser('Amy')
      await zed.client.users.updateProfile({ about: 'Zed about' })
      await zed.client.users.updatePrivacy({ about: 'contacts' })
      await ada.client.contacts.add({ phone_number: zed.phone, contact_name: 'zz Zed' })
      await ada.client.contacts.add({ phone_number: amy.phone, contact_name: 'Aa Amy' })

      let { contacts } = await ada.client.contacts.list()
      expect(contacts.map((contact) => [contact.name, contact.about])).toEqual([
        ['Aa Amy', 'Hey there! I am using Parley.'],
        ['zz Zed', null],
      ])

      // Once Zed saves Ada, Ada is one of Zed's contacts and sees the about.
      await zed.client.contacts.add({ phone_number: ada.phone, contact_name: 'Ada' })
      ;({ contacts } = await ada.client.contacts.list())
      expect(contacts.find((contact) => contact.id === zed.id)?.about).toBe('Zed about')

      // A contact who blocks Ada shows nothing private; one Ada blocks is flagged.
      await zed.client.contacts.block(ada.id)
      await ada.client.contacts.block(amy.id)
      ;({ contacts } = await ada.client.contacts.list())
      expect(contacts.map((contact) => [contact.name, contact.about, contact.is_blocked])).toEqual([
        ['Aa Amy', 'Hey there! I am using Parley.', true],
        ['zz Zed', null, false],
      ])
    })

    it('refuses unknown numbers, your own number and malformed bodies', async () => {
      const me = await phoneUser('Me')
      await expect(
        // Outside the 555-01xx range the test factories hand out.
        me.client.contacts.add({ phone_number: '+14155550299', contact_name: 'Nobody' }),
      ).rejects.toMatchObject({ status: 404, code: 'not_found' })
      await expect(
        me.client.contacts.add({ phone_number: me.phone, contact_name: 'Me' }),
      ).rejects.toMatchObject({
        status: 400,
        code: 'validation_error',
      })
      await expect(
        me.client.contacts.add({ phone_number: '12', contact_name: 'Short' }),
      ).rejects.toMatchObject({ status: 400, code: 'validation_error' })
      await expect(
        me.client.contacts.add({ phone_number: '+1 000 not a number', contact_name: 'Bad' }),
      ).rejects.toMatchObject({ status: 400, code: 'invalid_phone_number' })
      for (const body of [
        { phone_number: '+14155550100' },
        { phone_number: '+14155550100', contact_name: '' },
        { phone_number: '+14155550100', contact_name: '   ' },
        { phone_number: '+14155550100', contact_name: 'X', nickname: 'Y' },
        { contact_name: 'X' },
      ]) {
        const { status, body: answer } = await me.client.raw('POST', '/api/contacts', { body })
        expect({ body, status, answer }).toMatchObject({
          status: 400,
          answer: { success: false, error: { code: 'validation_error' } },
        })
      }
      expect((await me.client.contacts.list()).contacts).toEqual([])
    })

    it('removes only your side; a non-contact is not_found', async () => {
      const ada = await phoneUser('Ada')
      const bob = await phoneUser('Bob')
      await ada.client.contacts.add({ phone_number: bob.phone, contact_name: 'Bob' })
      await bob.client.contacts.add({ phone_number: ada.phone, contact_name: 'Ada' })

      expect(await ada.client.contacts.remove(bob.id)).toMatchObject({ success: true })
      expect((await ada.client.contacts.list()).contacts).toEqual([])
      expect((await bob.client.contacts.list()).contacts.map((contact) => contact.id)).toEqual([ada.id])

      await expect(ada.client.contacts.remove(bob.id)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(ada.client.contacts.remove(999_999)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      const { status, body } = await ada.client.raw('DELETE', '/api/contacts/abc')
      expect(status).toBe(400)
      expect(body).toMatchObject({ error: { code: 'validation_error' } })
    })
  })

  describe('blocking', () => {
    it('blocks and unblocks any user, idempotently', async () => {
      const ada = await createUser(server)
      const eve = await createUser(server)
      expect(await ada.client.contacts.block(eve.id)).toEqual({ success: true, is_blocked: true })
      expect(await ada.client.contacts.block(eve.id)).toEqual({ success: true, is_blocked: true })
      expect((await ada.client.users.get(eve.id)).user.is_blocked).toBe(true)
      // Blocking does not add a contact.
      expect((await ada.client.contacts.list()).contacts).toEqual([])

      expect(await ada.client.contacts.unblock(eve.id)).toEqual({ success: true, is_blocked: false })
      expect(await ada.client.contacts.unblock(eve.id)).toEqual({ success: true, is_blocked: false })
      expect((await ada.client.users.get(eve.id)).user.is_blocked).toBe(false)
    })

    it('refuses yourself, missing users and malformed ids', async () => {
      const ada = await createUser(server)
      await expect(ada.client.contacts.block(ada.id)).rejects.toMatchObject({
        status: 400,
        code: 'validation_error',
      })
      await expect(ada.client.contacts.unblock(ada.id)).rejects.toMatchObject({
        status: 400,
        code: 'validation_error',
      })
      await expect(ada.client.contacts.block(999_999)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(ada.client.contacts.unblock(999_999)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      const { status } = await ada.client.raw('PUT', '/api/contacts/0/block')
      expect(status).toBe(400)
    })
  })

  describe('contact requests', () => {
    it('full lifecycle: send, see both ways, refuse duplicates, accept, become mutual contacts', async () => {
      const ada = await createUser(server, { name: 'Ada Lovelace' })
      const bob = await createUser(server, { name: 'Bob Babbage' })

      const sent = await ada.client.raw('POST', '/api/contacts/requests', {
        body: { username: bob.username.toUpperCase(), message: 'Hi Bob, it is Ada' },
      })
      expect(sent.status).toBe(201)
      const { request } = sent.body as { request: ContactRequest }
      expect(request).toMatchObject({
        from_user: { id: ada.id, username: ada.username, name: 'Ada Lovelace', avatar_url: null },
        to_user: { id: bob.id, username: bob.username, name: 'Bob Babbage', avatar_url: null },
        message: 'Hi Bob, it is Ada',
        status: 'pending',
        responded_at: null,
      })

      const bobSees = await bob.client.contacts.requests()
      expect(parties(bobSees.incoming)).toEqual([{ id: request.id, from: ada.id, to: bob.id }])
      expect(bobSees.incoming[0]?.message).toBe('Hi Bob, it is Ada')
      expect(bobSees.outgoing).toEqual([])
      const adaSees = await ada.client.contacts.requests()
      expect(adaSees).toEqual({ success: true, incoming: [], outgoing: [request] })

      await expect(ada.client.contacts.sendRequest({ user_id: bob.id })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
      })
      // Only the recipient can accept.
      await expect(ada.client.contacts.acceptRequest(request.id)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })

      const accepted = await bob.client.contacts.acceptRequest(request.id)
      expect(accepted.request).toMatchObject({ id: request.id, status: 'accepted' })
      expect(Date.parse(accepted.request.responded_at ?? '')).not.toBeNaN()

      expect((await ada.client.contacts.list()).contacts).toEqual([
        expect.objectContaining({ id: bob.id, name: 'Bob Babbage', is_contact: true }),
      ])
      expect((await bob.client.contacts.list()).contacts).toEqual([
        expect.objectContaining({ id: ada.id, name: 'Ada Lovelace', is_contact: true }),
      ])
      expect(await ada.client.contacts.requests()).toEqual({ success: true, incoming: [], outgoing: [] })
      expect(await bob.client.contacts.requests()).toEqual({ success: true, incoming: [], outgoing: [] })

      await expect(bob.client.contacts.acceptRequest(request.id)).rejects.toMatchObject({ status: 404 })
      await expect(ada.client.contacts.sendRequest({ user_id: bob.id })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
      })
      await expect(bob.client.contacts.sendRequest({ user_id: ada.id })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
      })
    })

    it('refuses bad targets and bodies', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      await expect(ada.client.contacts.sendRequest({ user_id: ada.id })).rejects.toMatchObject({
        status: 400,
        code: 'validation_error',
      })
      await expect(ada.client.contacts.sendRequest({ username: ada.username })).rejects.toMatchObject({
        status: 400,
        code: 'validation_error',
      })
      await expect(ada.client.contacts.sendRequest({ user_id: 999_999 })).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(ada.client.contacts.sendRequest({ username: 'nobody_here_at_all' })).rejects.toMatchObject(
        {
          status: 404,
          code: 'not_found',
        },
      )
      for (const body of [
        {},
        { message: 'hi' },
        { user_id: bob.id, username: bob.username },
        { user_id: 'bob' },
        { user_id: bob.id, extra: true },
        { user_id: bob.id, message: 'x'.repeat(501) },
      ]) {
        const { status, body: answer } = await ada.client.raw('POST', '/api/contacts/requests', { body })
        expect({ body, status, answer }).toMatchObject({
          status: 400,
          answer: { success: false, error: { code: 'validation_error' } },
        })
      }
      expect((await bob.client.contacts.requests()).incoming).toEqual([])
    })

    it('outsiders can neither accept nor delete a request', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const mallory = await createUser(server)
      const { request } = await ada.client.contacts.sendRequest({ user_id: bob.id })
      await expect(mallory.client.contacts.acceptRequest(request.id)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(mallory.client.contacts.rejectRequest(request.id)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(bob.client.contacts.acceptRequest(999_999)).rejects.toMatchObject({ status: 404 })
      expect(parties((await bob.client.contacts.requests()).incoming)).toEqual([
        { id: request.id, from: ada.id, to: bob.id },
      ])
    })

    it('keeps one pending request when the same request is sent many times at once', async () => {
      const sender = await createUser(server)
      const target = await createUser(server)
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          sender.client.raw('POST', '/api/contacts/requests', { body: { user_id: target.id } }),
        ),
      )
      expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1)
      expect(answers.filter((answer) => answer.status === 409)).toHaveLength(7)
      const { incoming } = await target.client.contacts.requests()
      expect(incoming.filter((request) => request.from_user.id === sender.id)).toHaveLength(1)
    })

    it('the recipient declines; the sender may ask again', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const { request } = await ada.client.contacts.sendRequest({ user_id: bob.id })
      expect(await bob.client.contacts.rejectRequest(request.id)).toMatchObject({ success: true })
      expect((await bob.client.contacts.requests()).incoming).toEqual([])
      expect((await ada.client.contacts.requests()).outgoing).toEqual([])
      await expect(bob.client.contacts.acceptRequest(request.id)).rejects.toMatchObject({ status: 404 })
      await expect(bob.client.contacts.rejectRequest(request.id)).rejects.toMatchObject({ status: 404 })
      expect((await ada.client.contacts.list()).contacts).toEqual([])

      const again = await ada.client.raw('POST', '/api/contacts/requests', { body: { user_id: bob.id } })
      expect(again.status).toBe(201)
    })

    it('the sender withdraws', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const { request } = await ada.client.contacts.sendRequest({ username: bob.username })
      expect(await ada.client.contacts.rejectRequest(request.id)).toMatchObject({ success: true })
      expect((await bob.client.contacts.requests()).incoming).toEqual([])
      expect((await ada.client.contacts.requests()).outgoing).toEqual([])
      await expect(bob.client.contacts.acceptRequest(request.id)).rejects.toMatchObject({ status: 404 })
    })

    it('asking someone who already asked you accepts their request', async () => {
      const ada = await createUser(server, { name: 'Ada' })
      const bob = await createUser(server, { name: 'Bob' })
      const { request } = await ada.client.contacts.sendRequest({ user_id: bob.id })
      const back = await bob.client.raw('POST', '/api/contacts/requests', { body: { user_id: ada.id } })
      expect(back.status).toBe(200)
      expect(back.body).toMatchObject({
        success: true,
        request: { id: request.id, from_user: { id: ada.id }, to_user: { id: bob.id }, status: 'accepted' },
      })
      expect((await ada.client.contacts.list()).contacts.map((c) => [c.id, c.name])).toEqual([
        [bob.id, 'Bob'],
      ])
      expect((await bob.client.contacts.list()).contacts.map((c) => [c.id, c.name])).toEqual([
        [ada.id, 'Ada'],
      ])
      expect(await ada.client.contacts.requests()).toEqual({ success: true, incoming: [], outgoing: [] })
    })

    it('a one-way contact can still ask; accepting keeps the name already saved', async () => {
      const ada = await phoneUser('Ada')
      const bob = await phoneUser('Bob')
      await ada.client.contacts.add({ phone_number: bob.phone, contact_name: 'Bobby' })
      const { request } = await ada.client.contacts.sendRequest({ user_id: bob.id })
      await bob.client.contacts.acceptRequest(request.id)
      expect((await ada.client.contacts.list()).contacts.map((c) => [c.id, c.name])).toEqual([
        [bob.id, 'Bobby'],
      ])
      expect((await bob.client.contacts.list()).contacts.map((c) => [c.id, c.name])).toEqual([
        [ada.id, 'Ada'],
      ])
    })

    it('a request to someone who blocked you looks sent but never reaches them', async () => {
      const ada = await createUser(server, { name: 'Ada' })
      const bob = await createUser(server, { name: 'Bob' })
      const carol = await createUser(server, { name: 'Carol' })
      await bob.client.contacts.block(ada.id)

      const toBob = await ada.client.raw('POST', '/api/contacts/requests', {
        body: { user_id: bob.id, message: 'hello?' },
      })
      const toCarol = await ada.client.raw('POST', '/api/contacts/requests', {
        body: { user_id: carol.id, message: 'hello?' },
      })
      // Same status and shape as an ordinary request: nothing gives the block away.
      expect(toBob.status).toBe(toCarol.status)
      const blockedRequest = (toBob.body as { request: ContactRequest }).request
      const ordinaryRequest = (toCarol.body as { request: ContactRequest }).request
      expect(Object.keys(toBob.body as object)).toEqual(Object.keys(toCarol.body as object))
      expect({ ...blockedRequest, id: 0, to_user: null, created_at: null }).toEqual({
        ...ordinaryRequest,
        id: 0,
        to_user: null,
        created_at: null,
      })
      expect(parties((await ada.client.contacts.requests()).outgoing)).toEqual([
        { id: ordinaryRequest.id, from: ada.id, to: carol.id },
        { id: blockedRequest.id, from: ada.id, to: bob.id },
      ])
      await expect(ada.client.contacts.sendRequest({ user_id: bob.id })).rejects.toMatchObject({
        status: 409,
      })

      expect((await bob.client.contacts.requests()).incoming).toEqual([])
      await expect(bob.client.contacts.acceptRequest(blockedRequest.id)).rejects.toMatchObject({
        status: 404,
      })

      // Not after an unblock either.
      await bob.client.contacts.unblock(ada.id)
      expect((await bob.client.contacts.requests()).incoming).toEqual([])
      await expect(bob.client.contacts.acceptRequest(blockedRequest.id)).rejects.toMatchObject({
        status: 404,
      })
      expect((await bob.client.contacts.list()).contacts).toEqual([])
      expect((await ada.client.contacts.list()).contacts).toEqual([])
    })

    it('blocking settles pending requests both ways so neither becomes a contact', async () => {
      const ada = await createUser(server)
      const bob = await createUser(server)
      const dan = await createUser(server)

      // A request from the blocked user reads as declined to its sender.
      const fromAda = await ada.client.contacts.sendRequest({ user_id: bob.id })
      await bob.client.contacts.block(ada.id)
      expect((await bob.client.contacts.requests()).incoming).toEqual([])
      expect((await ada.client.contacts.requests()).outgoing).toEqual([])
      await expect(bob.client.contacts.acceptRequest(fromAda.request.id)).rejects.toMatchObject({
        status: 404,
      })

      // The blocker's own request to the blocked user is withdrawn.
      const fromBob = await bob.client.contacts.sendRequest({ user_id: dan.id })
      await bob.client.contacts.block(dan.id)
      expect((await dan.client.contacts.requests()).incoming).toEqual([])
      expect((await bob.client.contacts.requests()).outgoing).toEqual([])
      await expect(dan.client.contacts.acceptRequest(fromBob.request.id)).rejects.toMatchObject({
        status: 404,
      })
      expect((await dan.client.contacts.list()).contacts).toEqual([])
    })

    it('refuses anonymous callers on every contacts route', async () => {
      const anonymous = server.client()
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/api/contacts'],
        ['POST', '/api/contacts', { phone_number: '+14155550100', contact_name: 'X' }],
        ['DELETE', '/api/contacts/1'],
        ['PUT', '/api/contacts/1/block'],
        ['PUT', '/api/contacts/1/unblock'],
        ['GET', '/api/contacts/requests'],
        ['POST', '/api/contacts/requests', { user_id: 1 }],
        ['POST', '/api/contacts/requests/1/accept'],
        ['DELETE', '/api/contacts/requests/1'],
      ]
      for (const [method, path, body] of calls) {
        const { status, body: answer } = await anonymous.raw(method, path, body === undefined ? {} : { body })
        expect({ method, path, status, answer }).toMatchObject({
          status: 401,
          answer: { success: false, error: { code: 'unauthorized' } },
        })
      }
    })
  })
})
