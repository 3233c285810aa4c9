import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPhoneUser, createUser } from './helpers/factories.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Issue 9, finding 8: names people show each other refuse control and bidi characters and names that
 * show nothing, and are stored in NFC; passwords follow NIST SP 800-63B (length, a blocklist of common
 * passwords, not the username; no composition rules).
 */
const REFUSED_NAMES: Record<string, string> = {
  NUL: 'Ada\u0000Lovelace',
  'a bell': 'Ada\u0007',
  'a line break': 'Ada\nLovelace',
  'a C1 control': 'Ada\u0085',
  'right-to-left override': 'Ada\u202Egpj.exe',
  'left-to-right isolate': '\u2066Ada',
  'right-to-left mark': 'Ada\u200F',
  'zero-width spaces only': '\u200B\u200B',
  'a Hangul filler only': '\u3164',
  'spaces only': '   ',
}
const ACCEPTED_NAMES = ['Ada Lovelace', 'Zoë 👩‍💻', '李雷', 'مريم', 'דנה כהן', 'क्षत्रिय']

describe.each(MODES)('names and passwords (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(() => server.close())

  const expectRefused = async (
    answer: Promise<{ status: number; body: unknown }>,
    what: string,
    field?: string,
  ) => {
    const { status, body } = await answer
    expect(status, what).toBe(400)
    expect(body, what).toMatchObject({ success: false, error: { code: 'validation_error' } })
    if (field) expect(JSON.stringify(body), what).toContain(field)
  }

  it('refuses control and bidi characters and invisible-only names in every name and short text', async () => {
    const user = await createUser(server)
    const friend = await createPhoneUser(server)
    const client = user.client
    const register = (body: Record<string, unknown>) =>
      server.client().raw('POST', '/api/auth/register', {
        body: {
          username: `u${Math.random().toString(36).slice(2, 12)}`,
          password: 'correct horse battery staple',
          name: 'Ok',
          ...body,
        },
      })
    for (const [what, name] of Object.entries(REFUSED_NAMES)) {
      await expectRefused(register({ name }), `register name with ${what}`)
      await expectRefused(register({ device_name: name }), `device name with ${what}`)
      await expectRefused(
        client.raw('PUT', '/api/user/profile', { body: { name } }),
        `profile name with ${what}`,
      )
      await expectRefused(
        client.raw('POST', '/api/groups', { body: { name, participants: [] } }),
        `group name with ${what}`,
      )
      await expectRefused(
        client.raw('POST', '/api/contacts', { body: { phone_number: friend.phone, contact_name: name } }),
        `contact name with ${what}`,
      )
    }
    // Free texts may break lines but refuse the other controls and the bidi characters.
    for (const [what, text] of Object.entries({
      NUL: 'a\u0000b',
      override: 'hi \u202Eereht',
      C1: 'x\u009B',
    })) {
      await expectRefused(
        client.raw('PUT', '/api/user/profile', { body: { about: text } }),
        `about with ${what}`,
      )
      await expectRefused(
        client.raw('POST', '/api/groups', { body: { name: 'Team', description: text, participants: [] } }),
        `group description with ${what}`,
      )
      await expectRefused(
        client.raw('POST', '/api/contacts/requests', { body: { user_id: friend.id, message: text } }),
        `request message with ${what}`,
      )
    }
    const group = await client.raw('POST', '/api/groups', { body: { name: 'Team', participants: [] } })
    expect(group.status).toBe(201)
    const groupId = (group.body as { group: { id: number } }).group.id
    await expectRefused(
      client.raw('PUT', `/api/groups/${groupId}`, { body: { name: 'Team\u202E' } }),
      'group rename with an override',
    )
  })

  it('accepts names in any script, stores them trimmed and in NFC', async () => {
    for (const name of ACCEPTED_NAMES) {
      const user = await createUser(server, { name })
      expect(user.auth.user.name).toBe(name)
    }
    const decomposed = await createUser(server, { name: '  Zoe\u0308  ', device_name: 'Cafe\u0301 laptop' })
    expect(decomposed.auth.user.name).toBe('Zo\u00EB')
    const { sessions } = await decomposed.client.auth.sessions()
    expect(sessions[0]?.device_name).toBe('Caf\u00E9 laptop')
    const updated = await decomposed.client.raw('PUT', '/api/user/profile', {
      body: { name: 'A\u030Angstr\u00F6m', about: ' line one\nline two ' },
    })
    expect(updated.body).toMatchObject({ user: { name: '\u00C5ngstr\u00F6m', about: 'line one\nline two' } })
    const group = await decomposed.client.raw('POST', '/api/groups', {
      body: { name: ' Cafe\u0301 ', description: 'Fu\u0308r alle', participants: [] },
    })
    expect(group.body).toMatchObject({ group: { name: 'Caf\u00E9', description: 'F\u00FCr alle' } })
  })

  it('refuses common and breached passwords and the username (field password), accepts passphrases', async () => {
    const username = `pw_${Math.random().toString(36).slice(2, 10)}`
    for (const password of [
      '12345678',
      'password',
      'qwertyuiop',
      'Password1',
      'iloveyou',
      'aaaaaaaaaa',
      username.toUpperCase(),
    ]) {
      const answer = await server.client().raw('POST', '/api/auth/register', {
        body: { username, password, name: 'Pat' },
      })
      expect(answer.status, password).toBe(400)
      expect(answer.body, password).toMatchObject({
        success: false,
        error: { code: 'validation_error', details: [{ field: 'password' }] },
      })
    }
    await expectRefused(
      server
        .client()
        .raw('POST', '/api/auth/register', { body: { username, password: 'short', name: 'Pat' } }),
      'a 5-character password',
    )
    // No composition rules: a long passphrase of lowercase words is fine, and so is a long password.
    for (const password of [
      'correct horse battery staple',
      'all lowercase words and no digits',
      'x'.repeat(3) + '🙂'.repeat(5) + 'y'.repeat(200),
    ]) {
      const answer = await server.client().raw('POST', '/api/auth/register', {
        body: { username: `pp_${Math.random().toString(36).slice(2, 10)}`, password, name: 'Pat' },
      })
      expect(answer.status, password).toBe(201)
    }
  })
})
