import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPhoneUser, createUser, uniquePhone } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const DAY = 24 * 3_600_000

/**
 * Issue 9, finding 9: exact-number search and POST /api/contacts tell registered numbers from others,
 * so each user has a small daily budget of phone look-ups (PARLEY_PHONE_LOOKUPS_PER_DAY), spent found or
 * not, far below the general request limit.
 */
describe.each(MODES)('phone-number look-up budget (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    // Tokens outlive the day the test moves the clock by.
    server = await startServer(mode, { PARLEY_PHONE_LOOKUPS_PER_DAY: '3', PARLEY_ACCESS_TOKEN_TTL: '172800' })
  })
  afterAll(() => server.close())

  it('spends the budget on every phone look-up, found or not, over both routes, then answers 429', async () => {
    const prober = await createUser(server)
    const registered = await createPhoneUser(server)
    const client = prober.client

    const found = await client.users.search(registered.phone)
    expect(found.users.map((user) => user.id)).toEqual([registered.id])
    await expect(client.users.search(uniquePhone())).resolves.toMatchObject({ users: [] })
    await expect(
      client.contacts.add({ phone_number: uniquePhone(), contact_name: 'Nobody' }),
    ).rejects.toMatchObject({ status: 404, code: 'not_found' })

    // Spent: the answer no longer depends on whether the number is registered.
    for (const answer of [
      await client.raw('GET', '/api/users/search', { query: { q: registered.phone } }),
      await client.raw('GET', '/api/users/search', { query: { q: uniquePhone() } }),
      await client.raw('POST', '/api/contacts', {
        body: { phone_number: registered.phone, contact_name: 'Reg' },
      }),
      await client.raw('POST', '/api/contacts', { body: { phone_number: uniquePhone(), contact_name: 'X' } }),
    ]) {
      expect(answer.status).toBe(429)
      expect(answer.body).toMatchObject({
        success: false,
        error: { code: 'rate_limited', details: { retry_after: expect.any(Number) } },
      })
      const retryAfter = Number(answer.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(23 * 3600)
      expect(retryAfter).toBeLessThanOrEqual(24 * 3600)
    }

    // Name searches are not phone look-ups; other users have their own budget.
    await expect(client.users.search(registered.auth.user.name)).resolves.toMatchObject({ success: true })
    const other = await createUser(server)
    await expect(other.client.users.search(registered.phone)).resolves.toMatchObject({
      users: [{ id: registered.id }],
    })

    // The budget is a rolling day: the first look-up frees up 24 hours after it was made.
    server.clock.advance(DAY)
    await expect(
      client.contacts.add({ phone_number: registered.phone, contact_name: 'Reg' }),
    ).resolves.toMatchObject({ contact: { id: registered.id, name: 'Reg' } })
  })
})
