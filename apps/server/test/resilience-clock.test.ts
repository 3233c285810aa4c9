import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { purgeExpiredUpdates } from '../src/jobs/retention.ts'
import { createPhoneUser, createUser, uniquePhone } from './helpers/factories.ts'
import { codeOf, fullHistory, syncAll, text } from './helpers/messaging.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * The node's clock jumps (an NTP step, a VM restored from a snapshot). The server reads time only
 * through deps.clock, which the test moves. Presence and the cluster leases use Redis's clock
 * (realtime/presence.redis.ts), so they are not affected.
 */
describe.each(MODES)('a clock jump forwards and backwards (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(() => server?.close())

  it('keeps tokens, OTP expiry, message order and retention working', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const before = (await ada.client.messages.send(chat.id, text('before the jumps'))).message
    const phone = uniquePhone()
    await server.client().auth.sendOtp({ phone_number: phone })
    const staleCode = server.sms.lastCode(phone)
    let refreshToken = ada.auth.tokens.refresh_token

    // Forwards by two hours. What users see: the access token has expired (token_expired, so the
    // client refreshes and carries on), and a code texted before the jump has expired too.
    server.clock.advance(2 * HOUR)
    await expect(ada.client.auth.sessions()).rejects.toMatchObject({ status: 401, code: 'token_expired' })
    refreshToken = (await ada.client.auth.refresh(refreshToken)).refresh_token
    const ahead = (await ada.client.messages.send(chat.id, text('two hours later'))).message
    const late = await server.client().raw('POST', '/api/auth/verify-otp', {
      body: { phone_number: phone, otp: staleCode },
    })
    expect(codeOf(late)).toBe('otp_expired')
    await createPhoneUser(server, phone) // a fresh code works

    // Backwards by four hours. Tokens issued "in the future" ask for a refresh rather than sign the
    // user out; a fresh code lives its full five minutes from the new now.
    server.clock.advance(-4 * HOUR)
    await expect(ada.client.auth.sessions()).rejects.toMatchObject({ status: 401, code: 'token_expired' })
    refreshToken = (await ada.client.auth.refresh(refreshToken)).refresh_token
    await expect(ada.client.auth.sessions()).resolves.toMatchObject({ success: true })
    await bob.client.auth.refresh(bob.auth.tokens.refresh_token)
    const behind = (await bob.client.messages.send(chat.id, text('back in time'))).message
    const otherPhone = uniquePhone()
    await server.client().auth.sendOtp({ phone_number: otherPhone })
    server.clock.advance(4 * 60_000)
    await createPhoneUser(server, otherPhone).catch(() => {
      throw new Error('a code sent after the backward jump should still be valid four minutes later')
    })

    // Order is by per-chat seq, never by time: history and every device's log agree, and the
    // timestamps show the clock as it was (the last message looks older than the one before it).
    const history = await fullHistory(bob.client, chat.id)
    expect(history.map((message) => message.id)).toEqual([before.id, ahead.id, behind.id])
    expect(history.map((message) => message.seq)).toEqual(
      [...history.map((message) => message.seq)].sort((a, b) => a - b),
    )
    expect(Date.parse(behind.sent_at)).toBeLessThan(Date.parse(ahead.sent_at))
    const bobLog = (await syncAll(bob.client)).filter((update) => update.type === 'message:new')
    expect(bobLog.map((update) => (update.data as { message: { id: number } }).message.id)).toEqual([
      before.id,
      ahead.id,
      behind.id,
    ])

    // Retention with the clock behind deletes nothing recent; a jump past the retention window does
    // its job, and an old cursor gets an explicit resync_required, never a silent gap.
    await purgeExpiredUpdates(server.deps)
    expect((await syncAll(bob.client)).filter((update) => update.type === 'message:new')).toEqual(bobLog)
    server.clock.advance((server.deps.config.updateRetentionDays + 1) * DAY)
    await purgeExpiredUpdates(server.deps)
    const relogged = server.client()
    await relogged.auth.login({ username: bob.username, password: bob.password })
    const page = await relogged.sync(0)
    expect('resync_required' in page ? page.resync_required : false).toBe(true)
  })
})
