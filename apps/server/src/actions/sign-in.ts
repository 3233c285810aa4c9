import crypto from 'node:crypto'
import type { Tokens } from '@parley/protocol'
import { checkPasswordStrength } from '../auth/password-policy.ts'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords.ts'
import { hmac } from '../auth/tokens.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { clientNetwork } from '../limits/client-network.ts'
import { enforceLimit } from '../limits/enforce.ts'
import { iso } from '../presenters/time.ts'
import { isUniqueViolation } from '../store/db.ts'
import { OtpRepository } from '../store/otp.repository.ts'
import { newUserRow, type User, UserRepository } from '../store/user.repository.ts'
import { cleanName } from './names.ts'
import { type DeviceInfo, startSession } from './sessions.ts'

const HOUR = 3_600_000
export const NEW_PHONE_USER_NAME = 'New user'
export const OTP_TTL_MS = 5 * 60_000
export const OTP_MAX_ATTEMPTS = 5
export const LOGIN_MAX_FAILURES = 5
export const LOGIN_WINDOW_MS = 15 * 60_000

/**
 * Sends a 6-digit code. The answer is the same whether or not the number has an account; limits are
 * per number (durable, from the codes table) and per client IP (shared counters).
 */
export async function sendOtp(deps: Deps, input: { phoneNumber: string; ip: string | null }) {
  const now = deps.clock.now()
  await enforceLimit(
    deps,
    `otp-ip:${input.ip ? clientNetwork(input.ip) : 'unknown'}`,
    deps.config.otpSendsPerIpPerHour,
    HOUR,
  )
  const codes = new OtpRepository(deps.store.db)
  const recent = await codes.sentSince(input.phoneNumber, now - HOUR)
  const oldest = recent[0]
  if (recent.length >= deps.config.otpSendsPerHour && oldest) {
    throw errors.rateLimited(
      Math.max(1, Math.ceil((oldest.created_at + HOUR - now) / 1000)),
      'Too many codes sent to this number; try again later',
    )
  }
  const code = crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')
  const expiresAt = now + OTP_TTL_MS
  await deps.store.db.transaction().execute(async (trx) => {
    const repo = new OtpRepository(trx)
    await repo.retireUnused(input.phoneNumber, now)
    await repo.create({
      phone_number: input.phoneNumber,
      code_hash: hmac(deps.secret, `${input.phoneNumber}:${code}`),
      ip: input.ip,
      created_at: now,
      expires_at: expiresAt,
    })
  })
  try {
    await deps.sms.send(input.phoneNumber, `Your Parley code is ${code}. It expires in 5 minutes.`)
  } catch (error) {
    // A text that never left does not count against the number's hourly allowance.
    await codes.deleteUnsent(input.phoneNumber, now)
    deps.log.error({ err: error, sms_to: input.phoneNumber }, 'SMS provider refused the OTP text')
    throw errors.serviceUnavailable('The code could not be texted right now; try again shortly')
  }
  return { expiresAt: iso(expiresAt) }
}

/** Checks a code (single use, 5 minutes, at most 5 attempts) and signs in, creating the account if new. */
export async function verifyOtp(
  deps: Deps,
  input: { phoneNumber: string; otp: string; device: DeviceInfo },
): Promise<{ user: User; tokens: Tokens; created: boolean }> {
  const now = deps.clock.now()
  const codes = new OtpRepository(deps.store.db)
  const stored = await codes.findNewestUnused(input.phoneNumber)
  if (!stored) throw errors.invalidOtp()
  if (stored.expires_at <= now) throw errors.otpExpired()
  if (!(await codes.reserveAttempt(stored.id, OTP_MAX_ATTEMPTS))) throw errors.invalidOtp()
  const expected = Buffer.from(stored.code_hash, 'hex')
  const given = Buffer.from(hmac(deps.secret, `${input.phoneNumber}:${input.otp}`), 'hex')
  if (!crypto.timingSafeEqual(expected, given)) throw errors.invalidOtp()
  if (!(await codes.consume(stored.id, now))) throw errors.invalidOtp()

  const users = new UserRepository(deps.store.db)
  let user = await users.findByPhone(input.phoneNumber)
  const created = !user
  if (!user) {
    user = await createUserOnce(
      () =>
        users.create(
          newUserRow(
            {
              phone_number: input.phoneNumber,
              username: null,
              password_hash: null,
              // Not the number: names are shown to everyone and searchable, numbers only to contacts.
              name: NEW_PHONE_USER_NAME,
              phone_verified_at: now,
            },
            now,
          ),
        ),
      () => users.findByPhone(input.phoneNumber),
    )
  }
  const tokens = await startSession(deps, user, input.device)
  return { user, tokens, created }
}

export async function register(
  deps: Deps,
  input: { username: string; password: string; name: string; device: DeviceInfo },
): Promise<{ user: User; tokens: Tokens }> {
  const now = deps.clock.now()
  const users = new UserRepository(deps.store.db)
  const username = input.username.toLowerCase()
  await checkPasswordStrength(input.password, { username })
  if (await users.findCredentials(username)) throw errors.usernameTaken()
  const passwordHash = await hashPassword(input.password)
  let user: User
  try {
    user = await users.create(
      newUserRow(
        {
          phone_number: null,
          username,
          password_hash: passwordHash,
          name: cleanName(input.name, 'name'),
          phone_verified_at: null,
        },
        now,
      ),
    )
  } catch (error) {
    if (isUniqueViolation(error)) throw errors.usernameTaken()
    throw error
  }
  const tokens = await startSession(deps, user, input.device)
  return { user, tokens }
}

/**
 * Username + password. Each try takes one of five per 15 minutes for that account from that IP *before*
 * the password is checked, atomically in the shared counters, so no burst gets more than five checked;
 * a success gives the allowance back. Past it, even the right password answers `rate_limited`. The
 * answer for an unknown username is the same as for a wrong password, in the same time.
 */
export async function login(
  deps: Deps,
  input: { username: string; password: string; device: DeviceInfo },
): Promise<{ user: User; tokens: Tokens }> {
  const username = input.username.toLowerCase()
  const lockKey = `login:${username}:${input.device.ip ? clientNetwork(input.device.ip) : 'unknown'}`
  // Fails closed: without the counters a lock-out could not hold, so no password is checked.
  await enforceLimit(deps, lockKey, LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS, {
    message: 'Too many failed sign-in attempts; try again later',
    failClosed: true,
  })
  const found = await new UserRepository(deps.store.db).findCredentials(username)
  const passwordOk = await verifyPassword(found?.password_hash ?? (await dummyPasswordHash()), input.password)
  if (!found?.password_hash || !passwordOk) throw errors.invalidCredentials()
  await deps.counters.reset(lockKey, LOGIN_WINDOW_MS).catch((error: unknown) => {
    deps.log.warn({ err: error, key: lockKey }, 'could not clear the sign-in attempts after a success')
  })
  const { password_hash: _hidden, ...user } = found
  const tokens = await startSession(deps, user, input.device)
  return { user, tokens }
}

/** Two first sign-ins of one number at once: the loser of the unique index reads the winner's row. */
async function createUserOnce(
  create: () => Promise<User>,
  reread: () => Promise<User | undefined>,
): Promise<User> {
  try {
    return await create()
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    const existing = await reread()
    if (!existing) throw error
    return existing
  }
}
