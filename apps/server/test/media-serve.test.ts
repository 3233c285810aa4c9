import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttachmentRepository } from '../src/store/attachment.repository.ts'
import { createUser, type TestUser } from './helpers/factories.ts'
import { type Answer, Api, pngImage, request } from './helpers/media.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

interface Person {
  user: TestUser
  api: Api
}

async function person(server: TestServer): Promise<Person> {
  const user = await createUser(server)
  return { user, api: new Api(server, user.auth.tokens.access_token) }
}

/** Uploads through the API and answers the ready attachment's id. */
async function uploaded(owner: Person, bytes: Buffer, name: string, mime: string, kind?: string) {
  const { complete } = await owner.api.upload(bytes, name, mime, kind)
  expect(complete.status).toBe(200)
  return complete.json<{ attachment: { id: number } }>().attachment.id
}

const fetchMedia = (who: Person, id: number, variant = '') =>
  who.api.call('GET', `/api/media/${id}${variant ? `/${variant}` : ''}`)

/** Follows the 302 to the signed URL. */
async function download(who: Person, id: number, headers: Record<string, string> = {}): Promise<Answer> {
  const redirect = await fetchMedia(who, id)
  expect(redirect.status).toBe(302)
  return request(String(redirect.headers.location), { headers })
}

describe.each(MODES)('serving media (%s)', (mode) => {
  let server: TestServer
  let ada: Person
  let bob: Person
  let carol: Person
  let png: Buffer
  let imageId: number
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    ;[ada, bob, carol] = [await person(server), await person(server), await person(server)]
    png = await pngImage(80, 60)
    imageId = await uploaded(ada, png, 'photo.png', 'image/png')
  })
  afterAll(async () => {
    await server?.close()
  })

  it('redirects the owner to a short-lived signed URL that serves the bytes with safe headers', async () => {
    const redirect = await fetchMedia(ada, imageId)
    expect(redirect.status).toBe(302)
    expect(redirect.headers['cache-control']).toBe('private, max-age=150')
    const served = await request(String(redirect.headers.location))
    expect(served.status).toBe(200)
    // The pipeline re-encodes images (metadata stripped): the same picture, not the same bytes.
    expect(await sharp(served.body).metadata()).toMatchObject({ format: 'png', width: 80, height: 60 })
    expect((await sharp(served.body).metadata()).exif).toBeUndefined()
    expect(served.headers['content-type']).toBe('image/png')
    expect(served.headers['content-disposition']).toBe('inline')
    if (mode === 'sqlite') {
      expect(served.headers['x-content-type-options']).toBe('nosniff')
      expect(served.headers['content-security-policy']).toBe("sandbox; default-src 'none'")
      expect(served.headers['cache-control']).toMatch(/^private, max-age=\d+, immutable$/)
    } else {
      expect(served.headers['cache-control']).toBe('private, max-age=300, immutable')
    }
  })

  it('answers 404 to anyone with no reason to see it, and for a variant it does not have', async () => {
    for (const who of [bob, carol]) {
      const answer = await fetchMedia(who, imageId)
      expect(answer.status).toBe(404)
      expect(answer.json<{ error: { code: string } }>().error.code).toBe('not_found')
    }
    expect((await fetchMedia(ada, imageId, 'thumbnail')).status).toBe(302)
    // A message image has no avatar sizes.
    expect((await fetchMedia(ada, imageId, 'avatar_300')).status).toBe(404)
    expect((await fetchMedia(ada, imageId, 'original')).status).toBe(302)
    expect((await fetchMedia(ada, imageId, 'secret')).status).toBe(400)
    expect((await fetchMedia(ada, 999_999)).status).toBe(404)
    expect((await request(`${server.url}/api/media/${imageId}`)).status).toBe(401)
  })

  it('lets members who can see a message holding it fetch it, until it is deleted or hidden', async () => {
    const id = await uploaded(ada, await pngImage(10, 10), 'm.png', 'image/png')
    const { chat } = await ada.user.client.chats.open(bob.user.id)
    const sent = await ada.user.client.messages.send(chat.id, {
      message_type: 'text',
      content: 'see attached',
      client_msg_id: crypto.randomUUID(),
    })
    const messageId = sent.message.id
    await new AttachmentRepository(server.deps.store.db).attachToMessage(messageId, [id], server.clock.now())
    expect((await fetchMedia(bob, id)).status).toBe(302)
    expect((await fetchMedia(carol, id)).status).toBe(404)

    await bob.user.client.messages.delete(messageId, { for: 'me' })
    expect((await fetchMedia(bob, id)).status).toBe(404)

    const again = await ada.user.client.messages.send(chat.id, {
      message_type: 'text',
      content: 'again',
      client_msg_id: crypto.randomUUID(),
    })
    await new AttachmentRepository(server.deps.store.db).attachToMessage(
      again.message.id,
      [id],
      server.clock.now(),
    )
    expect((await fetchMedia(bob, id)).status).toBe(302)
    await ada.user.client.messages.delete(again.message.id, { for: 'everyone' })
    expect((await fetchMedia(bob, id)).status).toBe(404)
    expect((await fetchMedia(ada, id)).status).toBe(302)
  })

  it('serves a profile photo under its owner’s privacy, and a group photo to members only', async () => {
    const avatar = await uploaded(ada, await pngImage(30, 30), 'me.png', 'image/png')
    await server.deps.store.db
      .updateTable('users')
      .set({ avatar_attachment_id: avatar })
      .where('id', '=', ada.user.id)
      .execute()
    expect((await fetchMedia(carol, avatar)).status).toBe(302)
    await ada.user.client.users.updatePrivacy({ profile_photo: 'nobody' })
    expect((await fetchMedia(carol, avatar)).status).toBe(404)
    await ada.user.client.users.updatePrivacy({ profile_photo: 'everyone' })

    const groupPhoto = await uploaded(ada, await pngImage(20, 20), 'g.png', 'image/png')
    const { group } = await ada.user.client.groups.create({ name: 'Photos', participants: [bob.user.id] })
    await server.deps.store.db
      .updateTable('chats')
      .set({ avatar_attachment_id: groupPhoto })
      .where('id', '=', group.id)
      .execute()
    expect((await fetchMedia(bob, groupPhoto)).status).toBe(302)
    expect((await fetchMedia(carol, groupPhoto)).status).toBe(404)
    await bob.user.client.groups.leave(group.id)
    expect((await fetchMedia(bob, groupPhoto)).status).toBe(404)
  })

  it('the media cookie authenticates GET /api/media/* and nothing else', async () => {
    const set = await ada.api.call('POST', '/api/media/cookie')
    expect(set.status).toBe(200)
    const cookie = String(set.headers['set-cookie'])
    expect(cookie).toMatch(/^parley_media=[^;]+; Path=\/api\/media; HttpOnly; SameSite=Strict; Max-Age=\d+$/)
    const pair = cookie.split(';')[0] ?? ''
    const viaCookie = await request(`${server.url}/api/media/${imageId}`, { headers: { cookie: pair } })
    expect(viaCookie.status).toBe(302)
    const elsewhere = await request(`${server.url}/api/user/profile`, { headers: { cookie: pair } })
    expect(elsewhere.status).toBe(401)
  })

  it('serves documents as downloads with a safe name, and active content never as itself', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n')
    const id = await uploaded(ada, pdf, '../../évil "page".pdf', 'application/pdf', 'document')
    const served = await download(ada, id)
    expect(served.status).toBe(200)
    expect(served.headers['content-type']).toBe('application/pdf')
    expect(served.headers['content-disposition']).toBe(
      `attachment; filename="_vil _page_.pdf"; filename*=UTF-8''%C3%A9vil%20_page_.pdf`,
    )

    // Should HTML or SVG ever be stored (the pipeline refuses them), it is still a download of bytes.
    const attachments = new AttachmentRepository(server.deps.store.db)
    for (const [mime, body] of [
      ['text/html', '<script>alert(1)</script>'],
      ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
    ] as const) {
      const key = `test/${crypto.randomBytes(8).toString('hex')}`
      await server.deps.blobs.put(key, Readable.from([Buffer.from(body)]), { contentType: mime })
      const row = await attachments.insert({
        owner_id: ada.user.id,
        kind: 'document',
        state: 'ready',
        reject_reason: null,
        declared_mime: mime,
        declared_size: body.length,
        mime,
        size: body.length,
        file_name: 'x',
        width: null,
        height: null,
        duration_ms: null,
        placeholder: null,
        waveform: null,
        storage_key: key,
        variants: null,
        upload_id: null,
        received_bytes: body.length,
        created_at: server.clock.now(),
        completed_at: server.clock.now(),
        ready_at: server.clock.now(),
        attached_at: null,
      })
      const active = await download(ada, row.id)
      expect(active.status).toBe(200)
      expect(active.headers['content-type']).toBe('application/octet-stream')
      expect(active.headers['content-disposition']).toMatch(/^attachment;/)
    }
  })

  it('answers Range requests (206, 416) and If-None-Match (304)', async () => {
    const whole = await download(ada, imageId)
    const stored = whole.body
    const partial = await download(ada, imageId, { range: 'bytes=10-19' })
    expect(partial.status).toBe(206)
    expect(partial.body.equals(stored.subarray(10, 20))).toBe(true)
    expect(partial.headers['content-range']).toBe(`bytes 10-19/${stored.length}`)
    const outside = await download(ada, imageId, { range: `bytes=${stored.length + 10}-` })
    expect(outside.status).toBe(416)
    const etag = String(whole.headers.etag)
    expect(etag).toMatch(/^"/)
    const cached = await download(ada, imageId, { 'if-none-match': etag })
    expect(cached.status).toBe(304)
  })

  it('refuses a tampered signed URL with 403', async () => {
    const redirect = await fetchMedia(ada, imageId)
    const url = new URL(String(redirect.headers.location))
    if (mode === 'sqlite') {
      // Asking for another type is a different grant: the signature no longer matches.
      url.searchParams.set('ct', 'text/html')
    } else {
      url.searchParams.set('response-content-type', 'text/html')
    }
    const refused = await request(url.toString())
    expect(refused.status).toBe(403)
  })

  it('refuses an expired signed URL with 403', async () => {
    if (mode === 'sqlite') {
      const redirect = await fetchMedia(ada, imageId)
      server.clock.advance(301_000)
      const expired = await request(String(redirect.headers.location))
      expect(expired.status).toBe(403)
      expect(expired.json<{ error: { code: string } }>().error.code).toBe('forbidden')
      return
    }
    // S3 checks expiry against the real clock: presign with a 1-second life and wait it out (bounded).
    const { storage_key } = await server.deps.store.db
      .selectFrom('attachments')
      .select('storage_key')
      .where('id', '=', imageId)
      .executeTakeFirstOrThrow()
    const url = await server.deps.blobs.signedGetUrl(storage_key, {
      ttl: 1,
      contentType: 'image/png',
      disposition: 'inline',
    })
    expect((await request(url)).status).toBe(200)
    let status = 200
    const deadline = Date.now() + 10_000
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      status = (await request(url)).status
    }
    expect(status).toBe(403)
  })
})
