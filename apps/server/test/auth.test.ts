import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPhoneUser, createUser, uniquePhone } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const MINUTE = 60_000

describe.each(MODES)('auth (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode)
  })
  afterAll(() => server.close())

  describe('phone OTP', () => {
    it('signs a new number up and the same number in again as the same user', async () => {
      const phone = uniquePhone()
      const client = server.client()
      const sent = await client.auth.sendOtp({ phone_number: phone, country_code: '+1' })
      expect(sent).toMatchObject({ success: true, message: 'OTP sent successfully' })
      expect(Date.parse(sent.expires_at) - server.clock.now()).toBe(5 * MINUTE)
      expect(server.sms.sent.at(-1)?.to).toBe(phone)

      const first = await client.auth.verifyOtp({ phone_number: phone, otp: server.sms.lastCode(phone) })
      expect(first.user).toMatchObject({ phone_number: phone, username: null })
      expect(first.tokens.access_token).toMatch(/^ey/)
      expect(first.tokens.refresh_token.length).toBeGreaterThan(30)

      await client.auth.sendOtp({ phone_number: phone })
      const again = await client.auth.verifyOtp({ phone_number: phone, otp: server.sms.lastCode(phone) })
      expect(again.user.id).toBe(first.user.id)
      expect(again.tokens.session_id).not.toBe(first.tokens.session_id)
    })

    it('normalises national numbers with a country code to E.164', async () => {
      const client = server.client()
      const e164 = uniquePhone()
      const national = e164.slice(2) // "+1" removed
      await client.auth.sendOtp({ phone_number: national, country_code: '+1' })
      expect(server.sms.sent.at(-1)?.to).toBe(e164)
      const answer = await client.auth.verifyOtp({
        phone_number: `(${national.slice(0, 3)}) ${national.slice(3)}`,
        country_code: '1',
        otp: server.sms.lastCode(e164),
      })
      expect(answer.user.phone_number).toBe(e164)
    })

    it('refuses invalid phone numbers with a coded error', async () => {
      const client = server.client()
      for (const phone_number of ['12345', '+999123', 'not a number']) {
        await expect(client.auth.sendOtp({ phone_number })).rejects.toMatchObject({
          status: 400,
          code: 'invalid_phone_number',
        })
      }
      await expect(
        client.auth.sendOtp({ phone_number: uniquePhone(), country_code: '+44' }),
      ).rejects.toMatchObject({
        code: 'invalid_phone_number',
      })
    })

    it('answers the same whether or not the number has an account', async () => {
      const existing = await createPhoneUser(server)
      const fresh = uniquePhone()
      const client = server.client()
      const a = await client.raw('POST', '/api/auth/send-otp', { body: { phone_number: existing.phone } })
      const b = await client.raw('POST', '/api/auth/send-otp', { body: { phone_number: fresh } })
      expect(a.status).toBe(b.status)
      expect(a.body).toEqual(b.body)
    })

    it('refuses a wrong code, a reused code and an expired code', async () => {
      const phone = uniquePhone()
      const client = server.client()
      await client.auth.sendOtp({ phone_number: phone })
      const code = server.sms.lastCode(phone)
      const wrong = code === '000000' ? '111111' : '000000'
      await expect(client.auth.verifyOtp({ phone_number: phone, otp: wrong })).rejects.toMatchObject({
        status: 400,
        code: 'invalid_otp',
      })
      await client.auth.verifyOtp({ phone_number: phone, otp: code })
      await expect(client.auth.verifyOtp({ phone_number: phone, otp: code })).rejects.toMatchObject({
        code: 'invalid_otp',
      })

      await client.auth.sendOtp({ phone_number: phone })
      server.clock.advance(5 * MINUTE + 1000)
      await expect(
        client.auth.verifyOtp({ phone_number: phone, otp: server.sms.lastCode(phone) }),
      ).rejects.toMatchObject({
        status: 400,
        code: 'otp_expired',
      })
    })

    it('only the newest code works', async () => {
      const phone = uniquePhone()
      const client = server.client()
      await client.auth.sendOtp({ phone_number: phone })
      const older = server.sms.lastCode(phone)
      await client.auth.sendOtp({ phone_number: phone })
      const newer = server.sms.lastCode(phone)
      if (older !== newer) {
        await expect(client.auth.verifyOtp({ phone_number: phone, otp: older })).rejects.toMatchObject({
          code: 'invalid_otp',
        })
      }
      await expect(client.auth.verifyOtp({ phone_number: phone, otp: newer })).resolves.toMatchObject({
        success: true,
      })
    })

    it('refuses the 6th attempt even with the right code', async () => {
      const phone = uniquePhone()
      const client = server.client()
      await client.auth.sendOtp({ phone_number: phone })
      const code = server.sms.lastCode(phone)
      const wrong = code === '000000' ? '111111' : '000000'
      for (let attempt = 1; attempt <= 5; attempt++) {
        await expect(client.auth.verifyOtp({ phone_number: phone, otp: wrong })).rejects.toMatchObject({
          code: 'invalid_otp',
        })
      }
      await expect(client.auth.verifyOtp({ phone_number: phone, otp: code })).rejects.toMatchObject({
        status: 400,
        code: 'invalid_otp',
      })
    })

    it('counts parallel guesses against the same 5 attempts', async () => {
      const phone = uniquePhone()
      const client = server.client()
      await client.auth.sendOtp({ phone_number: phone })
      const code = server.sms.lastCode(phone)
      const wrong = Array.from({ length: 12 }, (_, i) =>
        String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'),
      )
      const answers = await Promise.allSettled(
        wrong.map((otp) => client.auth.verifyOtp({ phone_number: phone, otp })),
      )
      expect(answers.every((answer) => answer.status === 'rejected')).toBe(true)
      await expect(client.auth.verifyOtp({ phone_number: phone, otp: code })).rejects.toMatchObject({
        code: 'invalid_otp',
      })
      const row = await server.deps.store.db
        .selectFrom('otp_codes')
        .select('attempts')
        .where('phone_number', '=', phone)
        .executeTakeFirstOrThrow()
      expect(row.attempts).toBe(5)
    })

    it('refuses a 4th send to one number within an hour, then allows it again', async () => {
      const phone = uniquePhone()
      const client = server.client()
      for (let send = 1; send <= 3; send++) await client.auth.sendOtp({ phone_number: phone })
      const refused = await client.raw('POST', '/api/auth/send-otp', { body: { phone_number: phone } })
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({
        success: false,
        error: { code: 'rate_limited', details: { retry_after: 3600 } },
      })
      expect(refused.headers.get('retry-after')).toBe('3600')
      expect(server.sms.sent.filter((message) => message.to === phone)).toHaveLength(3)
      server.clock.advance(60 * MINUTE + 1000)
      await expect(client.auth.sendOtp({ phone_number: phone })).resolves.toMatchObject({ success: true })
    })

    it('answers 503 when the SMS provider fails, without using up the allowance', async () => {
      const phone = uniquePhone()
      const failing = { send: async () => Promise.reject(new Error('provider down')) }
      const original = server.deps.sms
      server.deps.sms = failing
      try {
        for (let send = 1; send <= 4; send++) {
          await expect(server.client().auth.sendOtp({ phone_number: phone })).rejects.toMatchObject({
            status: 503,
            code: 'service_unavailable',
          })
        }
      } finally {
        server.deps.sms = original
      }
      await expect(server.client().auth.sendOtp({ phone_number: phone })).resolves.toMatchObject({
        success: true,
      })
    })

    it('validates the bodies', async () => {
      const client = server.client()
      const cases = [
        { path: '/api/auth/send-otp', body: {} },
        { path: '/api/auth/send-otp', body: { phone_number: 12345 } },
        { path: '/api/auth/verify-otp', body: { phone_number: uniquePhone(), otp: '12345' } },
        { path: '/api/auth/verify-otp', body: { phone_number: uniquePhone(), otp: '123456', extra: true } },
      ]
      for (const { path, body } of cases) {
        const answer = await client.raw('POST', path, { body })
        expect(answer.status, JSON.stringify(body)).toBe(400)
        expect(answer.body).toMatchObject({ success: false, error: { code: 'validation_error' } })
      }
    })
  })

  describe('per-IP OTP cap', () => {
    let capped: TestServer
    beforeAll(async () => {
      capped = await startServer(mode, { PARLEY_OTP_SENDS_PER_IP_PER_HOUR: '2' })
    })
    afterAll(() => capped.close())

    it('refuses more sends from one IP than the cap, whatever the numbers', async () => {
      const client = capped.client()
      await client.auth.sendOtp({ phone_number: uniquePhone() })
      await client.auth.sendOtp({ phone_number: uniquePhone() })
      await expect(client.auth.sendOtp({ phone_number: uniquePhone() })).rejects.toMatchObject({
        status: 429,
        code: 'rate_limited',
      })
      expect(capped.sms.sent).toHaveLength(2)
    })
  })

  describe('per-user rate limit', () => {
    let limited: TestServer
    beforeAll(async () => {
      limited = await startServer(mode, { PARLEY_RATE_LIMIT_PER_USER: '3' })
    })
    afterAll(() => limited.close())

    it('refuses a signed-in user past the per-minute limit, whatever their device', async () => {
      const user = await createUser(limited)
      const other = await createUser(limited)
      for (let request = 1; request <= 3; request++) await user.client.auth.sessions()
      const refused = await user.client.raw('GET', '/api/auth/sessions')
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({ error: { code: 'rate_limited' } })
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      await expect(other.client.auth.sessions()).resolves.toMatchObject({ success: true })
      limited.clock.advance(60_000)
      await expect(user.client.auth.sessions()).resolves.toMatchObject({ success: true })
    })
  })

  describe('username and password', () => {
    it('registers and signs in', async () => {
      const user = await createUser(server, { name: 'Ada Lovelace', username: `Ada_${Date.now()}` })
      expect(user.auth.user).toMatchObject({
        name: 'Ada Lovelace',
        username: user.username.toLowerCase(),
        phone_number: null,
      })
      const again = await server
        .client()
        .auth.login({ username: user.username.toUpperCase(), password: user.password })
      expect(again.user.id).toBe(user.id)
    })

    it('refuses a taken username, case-insensitively', async () => {
      const user = await createUser(server)
      await expect(
        server
          .client()
          .auth.register({ username: user.username.toUpperCase(), password: 'another password', name: 'X' }),
      ).rejects.toMatchObject({ status: 409, code: 'username_taken' })
    })

    it('validates usernames and passwords', async () => {
      const client = server.client()
      for (const body of [
        { username: 'ab', password: 'long enough', name: 'A' },
        { username: 'has space', password: 'long enough', name: 'A' },
        { username: 'fine_name', password: 'short', name: 'A' },
        { username: 'fine_name', password: 'long enough', name: '' },
      ]) {
        await expect(client.auth.register(body)).rejects.toMatchObject({
          status: 400,
          code: 'validation_error',
        })
      }
    })

    it('answers a wrong password and an unknown user alike', async () => {
      const user = await createUser(server)
      const client = server.client()
      const wrong = await client.raw('POST', '/api/auth/login', {
        body: { username: user.username, password: 'wrong password' },
      })
      const unknown = await client.raw('POST', '/api/auth/login', {
        body: { username: 'nobody_here', password: 'wrong password' },
      })
      expect(wrong.status).toBe(401)
      expect(wrong.body).toEqual(unknown.body)
      expect(wrong.body).toMatchObject({ error: { code: 'invalid_credentials' } })
    })

    it('locks the account from this IP after 5 failures for 15 minutes', async () => {
      const user = await createUser(server)
      const client = server.client()
      for (let attempt = 1; attempt <= 5; attempt++) {
        await expect(
          client.auth.login({ username: user.username, password: 'wrong password' }),
        ).rejects.toMatchObject({
          code: 'invalid_credentials',
        })
      }
      const locked = await client.raw('POST', '/api/auth/login', {
        body: { username: user.username, password: user.password },
      })
      expect(locked.status).toBe(429)
      expect(locked.body).toMatchObject({ error: { code: 'rate_limited' } })
      const retryAfter = Number(locked.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(15 * 60)

      server.clock.advance(retryAfter * 1000)
      await expect(
        client.auth.login({ username: user.username, password: user.password }),
      ).resolves.toMatchObject({
        user: { id: user.id },
      })
    })

    it('checks at most 5 of a parallel burst; the right password after it is refused too', async () => {
      const user = await createUser(server)
      const client = server.client()
      const burst = await Promise.all(
        Array.from({ length: 40 }, () =>
          client.raw('POST', '/api/auth/login', {
            body: { username: user.username, password: 'wrong password' },
          }),
        ),
      )
      const statuses = burst.map((answer) => answer.status)
      expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5)
      expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(35)
      expect(statuses.every((status) => status === 401 || status === 429)).toBe(true)
      for (const answer of burst.filter((one) => one.status === 429)) {
        expect(answer.body).toMatchObject({ success: false, error: { code: 'rate_limited' } })
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0)
      }

      const right = await client.raw('POST', '/api/auth/login', {
        body: { username: user.username, password: user.password },
      })
      expect(right.status).toBe(429)
      expect(right.body).toMatchObject({
        error: { code: 'rate_limited', details: { retry_after: expect.any(Number) } },
      })
    })
  })

  describe('OTP windows slide', () => {
    let capped: TestServer
    beforeAll(async () => {
      capped = await startServer(mode, { PARLEY_OTP_SENDS_PER_IP_PER_HOUR: '3' })
    })
    afterAll(() => capped.close())

    it('does not reset the per-IP cap on the clock hour: 3 sends at 10:59 still count at 11:00', async () => {
      const HOUR = 60 * MINUTE
      // Move the clock to hh:59:00 of the current hour.
      capped.clock.advance(HOUR - (capped.clock.now() % HOUR) - MINUTE)
      const client = capped.client()
      for (let send = 1; send <= 3; send++) await client.auth.sendOtp({ phone_number: uniquePhone() })
      capped.clock.advance(MINUTE) // hh+1:00:00, a new clock hour
      const refused = await client.raw('POST', '/api/auth/send-otp', {
        body: { phone_number: uniquePhone() },
      })
      expect(refused.status).toBe(429)
      expect(refused.body).toMatchObject({ success: false, error: { code: 'rate_limited' } })
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(58 * 60)
      expect(capped.sms.sent).toHaveLength(3)

      capped.clock.advance(30 * MINUTE)
      await expect(client.auth.sendOtp({ phone_number: uniquePhone() })).rejects.toMatchObject({
        status: 429,
      })
      capped.clock.advance(retryAfter * 1000 - 30 * MINUTE)
      await expect(client.auth.sendOtp({ phone_number: uniquePhone() })).resolves.toMatchObject({
        success: true,
      })
    })
  })

  describe('access tokens', () => {
    it('accepts a valid token and refuses a missing, malformed, unsigned or foreign one', async () => {
      const user = await createUser(server)
      await expect(user.client.auth.sessions()).resolves.toMatchObject({ success: true })

      const anonymous = server.client()
      await expect(anonymous.auth.sessions()).rejects.toMatchObject({ status: 401, code: 'unauthorized' })
      await expect(server.client('not-a-jwt').auth.sessions()).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      })

      const [, payload] = user.auth.tokens.access_token.split('.')
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`
      await expect(server.client(unsigned).auth.sessions()).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      })

      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString())
      const foreign = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode('another-key-another-key-another-key!!'))
      await expect(server.client(foreign).auth.sessions()).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      })

      const refreshAsAccess = server.client(user.auth.tokens.refresh_token)
      await expect(refreshAsAccess.auth.sessions()).rejects.toMatchObject({ status: 401 })
    })

    it('refuses tokens signed with the real secret that lack exp, iat or the access type', async () => {
      const user = await createUser(server)
      const [, payload] = user.auth.tokens.access_token.split('.')
      const claims: Record<string, unknown> = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString())
      const { exp: _exp, iat: _iat, type: _type, ...bare } = claims
      const now = Math.floor(server.clock.now() / 1000)
      const sign = (body: Record<string, unknown>, typ: string | null = 'JWT') =>
        new SignJWT(body)
          .setProtectedHeader({ alg: 'HS256', ...(typ ? { typ } : {}) })
          .sign(server.deps.secret)
      const forged = {
        'no exp': await sign({ ...bare, type: 'access', iat: now }),
        'no iat': await sign({ ...bare, type: 'access', exp: now + 600 }),
        'no type': await sign({ ...bare, iat: now, exp: now + 600 }),
        'refresh type': await sign({ ...bare, type: 'refresh', iat: now, exp: now + 600 }),
        'no sub': await sign({ ...bare, sub: undefined, type: 'access', iat: now, exp: now + 600 }),
        'other typ header': await sign({ ...bare, type: 'access', iat: now, exp: now + 600 }, 'refresh+jwt'),
        'no typ header': await sign({ ...bare, type: 'access', iat: now, exp: now + 600 }, null),
      }
      for (const [what, token] of Object.entries(forged)) {
        const answer = await server.client(token).raw('GET', '/api/auth/sessions')
        expect(answer.status, what).toBe(401)
        expect(answer.body, what).toMatchObject({ success: false, error: { code: 'unauthorized' } })
      }
      // A genuine token issued "in the future" (this node's clock stepped back) is not a forgery: the
      // client is told to refresh, not signed out (test/resilience-clock.test.ts).
      const fromTheFuture = await sign({ ...bare, type: 'access', iat: now + 3600, exp: now + 7200 })
      const future = await server.client(fromTheFuture).raw('GET', '/api/auth/sessions')
      expect(future.status).toBe(401)
      expect(future.body).toMatchObject({ success: false, error: { code: 'token_expired' } })
      // The same claims with all of them present are accepted: the refusals above are about the claims.
      const whole = await sign({ ...bare, type: 'access', iat: now, exp: now + 600 })
      expect((await server.client(whole).raw('GET', '/api/auth/sessions')).status).toBe(200)
    })

    it('expires after the access-token lifetime', async () => {
      const user = await createUser(server)
      server.clock.advance(15 * MINUTE + 1000)
      await expect(user.client.auth.sessions()).rejects.toMatchObject({ status: 401, code: 'token_expired' })
    })
  })

  describe('refresh tokens', () => {
    it('rotates on every use, from the Authorization header or the body', async () => {
      const user = await createUser(server)
      const first = await user.client.auth.refresh(user.auth.tokens.refresh_token)
      expect(first.refresh_token).not.toBe(user.auth.tokens.refresh_token)
      await expect(user.client.auth.sessions()).resolves.toMatchObject({ success: true })

      const second = await server
        .client()
        .call<{ refresh_token: string; access_token: string }>('POST', '/api/auth/refresh', {
          body: { refresh_token: first.refresh_token },
        })
      expect(second.refresh_token).not.toBe(first.refresh_token)
      await expect(server.client(second.access_token).auth.sessions()).resolves.toMatchObject({
        success: true,
      })
    })

    it('revokes the whole session when a used refresh token comes back', async () => {
      const user = await createUser(server)
      const original = user.auth.tokens.refresh_token
      const rotated = await server.client().auth.refresh(original)

      await expect(server.client().auth.refresh(original)).rejects.toMatchObject({
        status: 401,
        code: 'session_revoked',
      })
      await expect(server.client().auth.refresh(rotated.refresh_token)).rejects.toMatchObject({
        code: 'session_revoked',
      })
      await expect(server.client(rotated.access_token).auth.sessions()).rejects.toMatchObject({
        code: 'session_revoked',
      })
    })

    it('refuses unknown tokens and a missing token', async () => {
      await expect(server.client().auth.refresh('made-up-token')).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      })
      await expect(server.client().call('POST', '/api/auth/refresh', { body: {} })).rejects.toMatchObject({
        status: 401,
      })
    })
  })

  describe('sessions are devices', () => {
    it('lists devices, revokes another one at once and logs out', async () => {
      const phone = await createUser(server, { device_name: 'Phone' })
      const laptop = server.client()
      await laptop.auth.login({ username: phone.username, password: phone.password, device_name: 'Laptop' })

      const { sessions } = await laptop.auth.sessions()
      expect(sessions.map((session) => session.device_name).sort()).toEqual(['Laptop', 'Phone'])
      const phoneSession = sessions.find((session) => session.device_name === 'Phone')
      expect(phoneSession).toMatchObject({ current: false, ip: '127.0.0.1' })
      expect(sessions.find((session) => session.device_name === 'Laptop')?.current).toBe(true)

      await laptop.auth.revokeSession(phoneSession?.id ?? '')
      await expect(phone.client.auth.sessions()).rejects.toMatchObject({
        status: 401,
        code: 'session_revoked',
      })
      await expect(server.client().auth.refresh(phone.auth.tokens.refresh_token)).rejects.toMatchObject({
        status: 401,
      })
      expect((await laptop.auth.sessions()).sessions).toHaveLength(1)

      await laptop.auth.logout()
      await expect(laptop.auth.sessions()).rejects.toMatchObject({ status: 401, code: 'session_revoked' })
    })

    it('refuses a session id that is not a UUID (a NUL byte never reaches the database)', async () => {
      const alice = await createUser(server)
      for (const id of ['\u0000', 'some-session-id', `${alice.auth.tokens.session_id}\u0000`]) {
        await expect(alice.client.auth.revokeSession(id)).rejects.toMatchObject({
          status: 400,
          code: 'validation_error',
        })
      }
      await expect(alice.client.auth.sessions()).resolves.toMatchObject({ success: true })
    })

    it("cannot revoke another user's session", async () => {
      const alice = await createUser(server)
      const mallory = await createUser(server)
      await expect(mallory.client.auth.revokeSession(alice.auth.tokens.session_id)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      })
      await expect(alice.client.auth.sessions()).resolves.toMatchObject({ success: true })
    })
  })
})
