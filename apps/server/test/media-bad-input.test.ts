import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { SignUploadResponse } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser, type TestUser } from './helpers/factories.ts'
import { Api, pngImage, request } from './helpers/media.ts'
import { EICAR, noisyJpeg, pngBomb, zipOf } from './helpers/media-files.ts'
import { postForm } from './helpers/media-messages.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Issue 10 §8, bad input: every case through both doors where it applies (direct upload sign → PUT →
 * complete, and the multipart message send), each answered with its coded error and nothing
 * half-stored: no attachment left ready, no blob left in the store (the disk directory or the bucket
 * listed), no spooled temp file.
 */
interface Outcome {
  status: number
  code: string | undefined
  reason: string | undefined
}

const outcomeOf = (status: number, body: unknown): Outcome => {
  const error = (body as { error?: { code?: string; details?: { reason?: string } } }).error
  return { status, code: error?.code, reason: error?.details?.reason }
}

/** Every key in the media store: files under the disk store, or objects in the bucket. */
async function storedKeys(server: TestServer): Promise<string[]> {
  const s3 = server.deps.config.s3
  if (s3 === null) {
    const dir = path.join(server.deps.config.dataDir, 'media')
    if (!fs.existsSync(dir)) return []
    return (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((name) => fs.statSync(path.join(dir, name)).isFile())
      .sort()
  }
  const client = new S3Client({
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3.accessKeyId && s3.secretAccessKey
      ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
      : {}),
  })
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
    return (listed.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : [])).sort()
  } finally {
    client.destroy()
  }
}

/** Spooled files left in the server's temp directory (processing must remove its own). */
function spooled(server: TestServer): string[] {
  const dir = path.join(server.deps.config.dataDir, 'tmp')
  return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

interface Door {
  name: string
  send(file: Buffer, input: { fileName: string; mime: string; kind: string }): Promise<Outcome>
}

function doors(server: TestServer, user: TestUser, chatId: () => number): Door[] {
  const api = new Api(server, user.auth.tokens.access_token)
  return [
    {
      name: 'direct upload',
      async send(file, input) {
        const sign = await api.call('POST', '/api/upload/sign', {
          filename: input.fileName,
          mime_type: input.mime,
          size: file.length,
          kind: input.kind,
        })
        if (sign.status !== 201) return outcomeOf(sign.status, sign.json())
        const signed = sign.json<SignUploadResponse>()
        const put = await request(signed.upload_url, {
          method: 'PUT',
          headers: { 'content-length': String(file.length), ...signed.headers },
          body: file,
        })
        expect(put.status).toBe(200)
        const complete = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
        return outcomeOf(complete.status, complete.json())
      },
    },
    {
      name: 'multipart send',
      async send(file, input) {
        const answer = await postForm(
          server,
          user.auth.tokens.access_token,
          `/api/chats/${chatId()}/messages`,
          [
            ['message_type', input.kind],
            ['file', file, input.mime, input.fileName],
            ['caption', 'bad input'],
          ],
        )
        return outcomeOf(answer.status, answer.body)
      },
    },
  ]
}

const jpegThen = async (tail: Buffer) => Buffer.concat([await noisyJpeg(40, 30), tail])

interface Case {
  name: string
  file: () => Promise<Buffer> | Buffer
  fileName: string
  mime: string
  kind: string
  expected: Outcome
}

const CASES: Case[] = [
  {
    name: 'declared type ≠ bytes (a PNG sent as JPEG)',
    file: () => pngImage(20, 20),
    fileName: 'a.jpg',
    mime: 'image/jpeg',
    kind: 'image',
    expected: { status: 415, code: 'unsupported_media_type', reason: 'type_mismatch' },
  },
  {
    name: 'a truncated image',
    file: async () => (await noisyJpeg(200, 200)).subarray(0, 2000),
    fileName: 't.jpg',
    mime: 'image/jpeg',
    kind: 'image',
    expected: { status: 422, code: 'media_rejected', reason: 'corrupt' },
  },
  {
    name: 'a polyglot: JPEG + HTML',
    file: () => jpegThen(Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>')),
    fileName: 'p.jpg',
    mime: 'image/jpeg',
    kind: 'image',
    expected: { status: 422, code: 'media_rejected', reason: 'polyglot' },
  },
  {
    name: 'a polyglot: JPEG + ZIP',
    file: () => jpegThen(zipOf([{ name: 'run.js', data: Buffer.from('alert(1)') }])),
    fileName: 'z.jpg',
    mime: 'image/jpeg',
    kind: 'image',
    expected: { status: 422, code: 'media_rejected', reason: 'polyglot' },
  },
  {
    name: 'an SVG with a script',
    file: () =>
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
      ),
    fileName: 's.svg',
    mime: 'image/svg+xml',
    kind: 'image',
    expected: { status: 415, code: 'unsupported_media_type', reason: 'type_not_allowed' },
  },
  {
    name: 'HTML as a document',
    file: () => Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'),
    fileName: 'page.html',
    mime: 'text/html',
    kind: 'document',
    expected: { status: 415, code: 'unsupported_media_type', reason: 'type_not_allowed' },
  },
  {
    name: 'too many pixels (a decompression bomb)',
    file: () => pngBomb(30_000, 30_000),
    fileName: 'bomb.png',
    mime: 'image/png',
    kind: 'image',
    expected: { status: 422, code: 'media_rejected', reason: 'too_many_pixels' },
  },
  {
    name: 'EICAR',
    file: () => EICAR,
    fileName: 'eicar.txt',
    mime: 'text/plain',
    kind: 'document',
    expected: { status: 422, code: 'media_rejected', reason: 'infected' },
  },
  {
    name: 'EICAR zipped',
    file: () => zipOf([{ name: 'eicar.com', data: EICAR }]),
    fileName: 'eicar.zip',
    mime: 'application/zip',
    kind: 'document',
    expected: { status: 422, code: 'media_rejected', reason: 'infected' },
  },
  {
    name: 'over the kind’s limit (image > 10 MB)',
    file: () => Buffer.alloc(10 * 1024 * 1024 + 1, 0xff),
    fileName: 'huge.png',
    mime: 'image/png',
    kind: 'image',
    expected: { status: 413, code: 'payload_too_large', reason: undefined },
  },
]

describe.each(MODES)('bad media input (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let bob: TestUser
  let chatId = 0
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
    ;[ada, bob] = [await createUser(server), await createUser(server)]
    chatId = (await ada.client.chats.open(bob.id)).chat.id
  })
  afterAll(async () => {
    await server?.close()
  })

  const readyRows = async () =>
    (
      await server.deps.store.db
        .selectFrom('attachments')
        .select('id')
        .where('owner_id', '=', ada.id)
        .where('state', '=', 'ready')
        .execute()
    ).length
  const messageCount = async () => (await ada.client.messages.history(chatId)).messages.length

  /** Runs `act` and checks that it left no ready row, no blob, no temp file and no message. */
  async function leavesNothing(act: () => Promise<void>) {
    const before = {
      keys: await storedKeys(server),
      ready: await readyRows(),
      messages: await messageCount(),
    }
    await act()
    expect(await storedKeys(server)).toEqual(before.keys)
    expect(await readyRows()).toBe(before.ready)
    expect(await messageCount()).toBe(before.messages)
    expect(spooled(server)).toEqual([])
  }

  it.each(CASES)('$name: a coded error through both doors, nothing half-stored', async (badCase) => {
    const file = await badCase.file()
    for (const door of doors(server, ada, () => chatId)) {
      await leavesNothing(async () => {
        const outcome = await door.send(file, badCase)
        // Refused at sign time the direct door has no reason yet (the size alone decides).
        expect(outcome, door.name).toEqual(badCase.expected)
      })
    }
  })

  it('zero bytes: refused at sign (direct), rejected as empty (multipart), nothing stored', async () => {
    const [direct, multipart] = doors(server, ada, () => chatId)
    await leavesNothing(async () => {
      const outcome = await direct!.send(Buffer.alloc(0), {
        fileName: 'e.png',
        mime: 'image/png',
        kind: 'image',
      })
      expect(outcome.status).toBe(400)
      expect(outcome.code).toBe('validation_error')
    })
    await leavesNothing(async () => {
      expect(
        await multipart!.send(Buffer.alloc(0), { fileName: 'e.png', mime: 'image/png', kind: 'image' }),
      ).toEqual({
        status: 422,
        code: 'media_rejected',
        reason: 'empty',
      })
    })
  })

  it('path traversal in names becomes a safe name, through both doors', async () => {
    const api = new Api(server, ada.auth.tokens.access_token)
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
    for (const [raw, safe] of [
      ['../../etc/passwd', 'passwd'],
      ['..\\x.png', 'x.png'],
    ] as const) {
      const { complete } = await api.upload(pdf, raw, 'application/pdf', 'document')
      expect(complete.status, raw).toBe(200)
      expect(complete.json<{ attachment: { file_name: string } }>().attachment.file_name).toBe(safe)
      const sent = await postForm(server, ada.auth.tokens.access_token, `/api/chats/${chatId}/messages`, [
        ['message_type', 'document'],
        ['file', pdf, 'application/pdf', raw],
      ])
      expect(sent.status, raw).toBe(201)
      const message = sent.body.message as { attachments: Array<{ file_name: string }> }
      expect(message.attachments[0]?.file_name).toBe(safe)
    }
  })

  it('NUL, controls and bidi overrides in a name: 400 at sign (direct), a safe name (multipart)', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
    const [direct] = doors(server, ada, () => chatId)
    for (const [raw, safe] of [
      ['a\u0000.pdf', 'a.pdf'],
      ['a\u0007b\u202ec.pdf', 'abc.pdf'],
    ] as const) {
      await leavesNothing(async () => {
        const outcome = await direct!.send(pdf, { fileName: raw, mime: 'application/pdf', kind: 'document' })
        expect(outcome, JSON.stringify(raw)).toMatchObject({ status: 400, code: 'validation_error' })
      })
      // A browser's form names the file as the user's system does: the server cleans it instead.
      const sent = await postForm(server, ada.auth.tokens.access_token, `/api/chats/${chatId}/messages`, [
        ['message_type', 'document'],
        ['file', pdf, 'application/pdf', raw],
      ])
      expect(sent.status, JSON.stringify(raw)).toBe(201)
      const message = sent.body.message as { attachments: Array<{ file_name: string }> }
      expect(message.attachments[0]?.file_name).toBe(safe)
    }
  })

  it('complete before upload is 409, complete twice gives the same answer, another user’s ids are 404', async () => {
    const api = new Api(server, ada.auth.tokens.access_token)
    const png = await pngImage(12, 12)
    const signed = await api.sign({ filename: 'c.png', mime_type: 'image/png', size: png.length })
    const early = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect(outcomeOf(early.status, early.json())).toMatchObject({ status: 409, code: 'conflict' })
    await request(signed.upload_url, {
      method: 'PUT',
      headers: { 'content-length': String(png.length), ...signed.headers },
      body: png,
    })
    const first = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    const second = await api.call('POST', `/api/upload/${signed.attachment_id}/complete`)
    expect([first.status, second.status]).toEqual([200, 200])
    expect(second.json()).toEqual(first.json())

    const other = new Api(server, bob.auth.tokens.access_token)
    for (const [method, route] of [
      ['GET', `/api/upload/${signed.attachment_id}`],
      ['POST', `/api/upload/${signed.attachment_id}/complete`],
      ['GET', `/api/media/${signed.attachment_id}`],
    ] as const) {
      const answer = await other.call(method, route)
      expect(outcomeOf(answer.status, answer.json()), `${method} ${route}`).toMatchObject({
        status: 404,
        code: 'not_found',
      })
    }
    // Bob may not attach Ada's file to a message of his.
    const { chat } = await bob.client.chats.open(ada.id)
    const send = await other.call('POST', `/api/chats/${chat.id}/messages`, {
      message_type: 'image',
      attachment_ids: [signed.attachment_id],
      client_msg_id: crypto.randomUUID(),
    })
    expect(outcomeOf(send.status, send.json())).toMatchObject({ status: 404, code: 'not_found' })
  })

  it('tampered signed URLs (upload and download) are 403, and an expired one too', async () => {
    const api = new Api(server, ada.auth.tokens.access_token)
    const png = await pngImage(14, 14)
    const signatureParam = mode === 'sqlite' ? 'sig' : 'X-Amz-Signature'
    const tamper = (url: string) => {
      const tampered = new URL(url)
      const signature = tampered.searchParams.get(signatureParam) ?? ''
      tampered.searchParams.set(
        signatureParam,
        `${signature.slice(0, -2)}${signature.endsWith('aa') ? 'bb' : 'aa'}`,
      )
      return tampered.toString()
    }
    const signed = await api.sign({ filename: 't.png', mime_type: 'image/png', size: png.length })
    await leavesNothing(async () => {
      const refused = await request(tamper(signed.upload_url), {
        method: 'PUT',
        headers: { 'content-length': String(png.length), ...signed.headers },
        body: png,
      })
      expect(refused.status).toBe(403)
    })
    const { complete } = await api.upload(png, 'ok.png', 'image/png')
    const id = complete.json<{ attachment: { id: number } }>().attachment.id
    const redirect = await api.call('GET', `/api/media/${id}`)
    expect(redirect.status).toBe(302)
    const location = String(redirect.headers.location)
    expect((await request(tamper(location))).status).toBe(403)
    expect((await request(location)).status).toBe(200)
    if (mode === 'sqlite') {
      // The disk store's signatures follow the server's clock (S3's follow the real one).
      server.clock.advance(301_000)
      expect((await request(location)).status).toBe(403)
      const expired = await request(signed.upload_url, {
        method: 'PUT',
        headers: { 'content-length': String(png.length), ...signed.headers },
        body: png,
      })
      expect(outcomeOf(expired.status, expired.json())).toMatchObject({ status: 403, code: 'forbidden' })
    }
  })
})

describe.each(MODES)('bad media input: over quota (%s)', (mode) => {
  let server: TestServer
  let ada: TestUser
  let chatId = 0
  beforeAll(async () => {
    server = await startServer(mode, { ...NO_RATE_LIMITS, PARLEY_MEDIA_QUOTA_BYTES: '100000' })
    ada = await createUser(server)
    const bob = await createUser(server)
    chatId = (await ada.client.chats.open(bob.id)).chat.id
  })
  afterAll(async () => {
    await server?.close()
  })

  it('refuses a file over the quota with 413 quota_exceeded through both doors, nothing stored', async () => {
    const file = await noisyJpeg(400, 400)
    expect(file.length).toBeGreaterThan(100_000)
    for (const door of doors(server, ada, () => chatId)) {
      const before = await storedKeys(server)
      const outcome = await door.send(file, { fileName: 'q.jpg', mime: 'image/jpeg', kind: 'image' })
      expect(outcome, door.name).toMatchObject({ status: 413, code: 'quota_exceeded' })
      expect(await storedKeys(server)).toEqual(before)
      expect(spooled(server)).toEqual([])
    }
  })
})
