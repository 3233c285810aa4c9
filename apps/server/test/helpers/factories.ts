import crypto from 'node:crypto'
import type { AuthResponse } from '@parley/protocol'
import type { RestClient } from '@parley/sdk'
import type { TestServer } from './server.ts'

export interface TestUser {
  id: number
  client: RestClient
  auth: AuthResponse
  username: string
  password: string
}

let counter = Math.floor(Math.random() * 100)
/** A valid US number in the 555-01xx fictional range; each test server has its own database. */
export function uniquePhone(): string {
  counter = (counter + 1) % 100
  return `+1415555${String(100 + counter).padStart(4, '0')}`
}

/** Registers a user with a username and password and returns a signed-in client. */
export async function createUser(
  server: TestServer,
  options: { name?: string; username?: string; password?: string; device_name?: string } = {},
): Promise<TestUser> {
  const username = options.username ?? `user_${crypto.randomBytes(5).toString('hex')}`
  const password = options.password ?? 'correct horse battery staple'
  const client = server.client()
  const auth = await client.auth.register({
    username,
    password,
    name: options.name ?? username,
    ...(options.device_name ? { device_name: options.device_name } : {}),
  })
  return { id: auth.user.id, client, auth, username, password }
}

/** Signs a phone number in through the OTP flow (creating the account on first sign-in). */
export async function createPhoneUser(server: TestServer, phone = uniquePhone()) {
  const client = server.client()
  await client.auth.sendOtp({ phone_number: phone })
  const auth = await client.auth.verifyOtp({ phone_number: phone, otp: server.sms.lastCode(phone) })
  return { id: auth.user.id, client, auth, phone }
}
