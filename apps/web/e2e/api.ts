import crypto from 'node:crypto'
import { RestClient } from '@parley/sdk'
import type { Page } from 'playwright-core'

/** A person set up through the REST API (faster than the sign-up form), who then signs in in a page. */
export interface ApiUser {
  id: number
  name: string
  username: string
  password: string
  rest: RestClient
}

export async function registerByApi(baseUrl: string, name: string): Promise<ApiUser> {
  const rest = new RestClient({ baseUrl })
  const first = name.split(' ')[0]?.toLowerCase() ?? 'user'
  const username = `${first}_${crypto.randomBytes(3).toString('hex')}`
  const password = `pw-${crypto.randomBytes(8).toString('hex')}`
  const { user } = await rest.auth.register({ username, password, name, device_name: 'e2e' })
  return { id: user.id, name, username, password, rest }
}

/** Signs in with the username form, as a person would. */
export async function signIn(page: Page, user: ApiUser) {
  await page.goto('/')
  await page.getByLabel('Username').fill(user.username)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Chats' }).waitFor()
}

/** Sends texts in order through REST, `parallel` at a time (seq order is the server's, not ours). */
export async function sendMany(rest: RestClient, chatId: number, texts: string[], parallel = 1) {
  let next = 0
  const worker = async () => {
    while (next < texts.length) {
      const content = texts[next++] ?? ''
      await rest.messages.send(chatId, { message_type: 'text', content, client_msg_id: crypto.randomUUID() })
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
}
