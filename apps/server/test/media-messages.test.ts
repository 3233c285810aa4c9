import type { Message } from '@parley/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttachmentRepository } from '../src/store/attachment.repository.ts'
import { createUser, type TestUser } from './helpers/factories.ts'
import { image, pdf, postForm, upload, wav } from './helpers/media-messages.ts'
import { clientMsgId, codeOf, fullHistory, newMessagesIn, sendRaw, syncAll } from './helpers/messaging.ts'
import { RawSocket } from './helpers/raw-socket.ts'
import { MODES, NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * Media messages (issue 10): seed 002's multipart send, JSON sends naming uploads, albums, the kinds,
 * live delivery, ownership and readiness checks, forwards that reuse the stored file, reply thumbnails
 * and history pages. URLs are the stable `/api/media/{id}` ones (serving them is tested with the media
 * routes); here the views must name the right attachments.
 */
describe.each(MODES)('media messages (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(mode, NO_RATE_LIMITS)
  })
  afterAll(async () => {
    await server?.close()
  })

  const token = (user: TestUser) => user.auth.tokens.access_token
  const mediaUrl = (id: number) => `/api/media/${id}`

  async function pair(): Promise<{ ada: TestUser; bob: TestUser; chatId: number }> {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    return { ada, bob, chatId: chat.id }
  }

  async function sendImage(user: TestUser, chatId: number, caption = 'Check this out!'): Promise<Message> {
    const sent = await postForm(server, token(user), `/api/chats/${chatId}/messages`, [
      ['message_type', 'image'],
      ['file', await image('png', chatId), 'image/png', 'photo.png'],
      ['caption', caption],
    ])
    expect(sent.status).toBe(201)
    return sent.body.message as Message
  }

  it('sends an image as multipart (seed 002): caption as content, media_url, thumbnail_url, media_size', async () => {
    const { ada, bob, chatId } = await pair()
    const message = await sendImage(ada, chatId)
    const [attachment] = message.attachments
    expect(message).toMatchObject({
      chat_id: chatId,
      sender_id: ada.id,
      message_type: 'image',
      content: 'Check this out!',
      status: 'sent',
      deleted: false,
    })
    expect(attachment).toMatchObject({
      kind: 'image',
      state: 'ready',
      mime_type: 'image/png',
      file_name: 'photo.png',
    })
    expect(message.media_url).toBe(mediaUrl(attachment!.id))
    // The pipeline makes a thumbnail for every image.
    expect(message.thumbnail_url).toBe(`/api/media/${attachment!.id}/thumbnail`)
    expect(attachment!.thumbnail_url).toBe(message.thumbnail_url)
    expect(message.media_size).toBe(attachment!.size)
    expect(message.media_size).toBeGreaterThan(0)
    const [received] = newMessagesIn(await syncAll(bob.client), chatId)
    expect(received).toEqual(expect.objectContaining({ id: message.id, attachments: message.attachments }))
    const history = await fullHistory(bob.client, chatId)
    expect(history.map((m) => [m.id, m.media_url, m.content])).toEqual([
      [message.id, message.media_url, 'Check this out!'],
    ])
  })

  it('sends with attachment_ids (JSON after an upload), and marks the attachment attached', async () => {
    const { ada, chatId } = await pair()
    const uploaded = await upload(server, ada.id, await image('jpeg', 1), {
      kind: 'image',
      mime: 'image/jpeg',
    })
    const sent = await sendRaw(ada.client, chatId, {
      message_type: 'image',
      attachment_ids: [uploaded.id],
      content: '  sunset  ',
      client_msg_id: clientMsgId(),
    })
    expect(sent.status).toBe(201)
    expect(sent.message?.attachments.map((a) => a.id)).toEqual([uploaded.id])
    expect(sent.message?.content).toBe('sunset')
    const row = await new AttachmentRepository(server.deps.store.db).findById(uploaded.id)
    expect(row?.attached_at).not.toBeNull()
  })

  it('sends an album of three in the order given', async () => {
    const { ada, bob, chatId } = await pair()
    const sent = await postForm(server, token(ada), `/api/chats/${chatId}/messages`, [
      ['message_type', 'image'],
      ['file', await image('png', 1), 'image/png', 'a.png'],
      ['file', await image('jpeg', 2), 'image/jpeg', 'b.jpg'],
      ['file', await image('png', 3), 'image/png', 'c.png'],
    ])
    expect(sent.status).toBe(201)
    const message = sent.body.message as Message
    expect(message.attachments.map((a) => a.file_name)).toEqual(['a.png', 'b.jpg', 'c.png'])
    expect(message.media_url).toBe(mediaUrl(message.attachments[0]!.id))
    expect(message.content).toBeNull()
    const [seen] = (await bob.client.messages.history(chatId)).messages
    expect(seen?.attachments.map((a) => a.id)).toEqual(message.attachments.map((a) => a.id))
  })

  it('sends a voice note and a document, each of its own kind', async () => {
    const { ada, chatId } = await pair()
    const voice = await postForm(server, token(ada), `/api/chats/${chatId}/messages`, [
      ['message_type', 'voice'],
      ['file', wav(), 'audio/wav', 'note.wav'],
    ])
    expect(voice.status).toBe(201)
    expect((voice.body.message as Message).attachments).toMatchObject([
      { kind: 'voice', mime_type: 'audio/wav' },
    ])
    const document = await postForm(server, token(ada), `/api/chats/${chatId}/messages`, [
      ['message_type', 'document'],
      ['caption', 'the report'],
      ['file', pdf(), 'application/pdf', 'report.pdf'],
    ])
    expect(document.status).toBe(201)
    const message = document.body.message as Message
    expect(message).toMatchObject({ message_type: 'document', content: 'the report', thumbnail_url: null })
    expect(message.attachments).toMatchObject([{ kind: 'document', file_name: 'report.pdf' }])
    // A document cannot ride in an image message; a voice message takes one file.
    const misfit = await postForm(server, token(ada), `/api/chats/${chatId}/messages`, [
      ['message_type', 'image'],
      ['file', pdf(), 'application/pdf', 'report.pdf'],
    ])
    expect(misfit.status).toBe(415)
    const two = await postForm(server, token(ada), `/api/chats/${chatId}/messages`, [
      ['message_type', 'voice'],
      ['file', wav(), 'audio/wav', 'a.wav'],
      ['file', wav(), 'audio/wav', 'b.wav'],
    ])
    expect(two.status).toBe(400)
  })

  it('a member receives message:new with the attachments over the socket', async () => {
    const { ada, bob, chatId } = await pair()
    const socket = await RawSocket.open(server.url, token(bob), 0)
    try {
      const message = await sendImage(ada, chatId, 'live')
      const frame = await socket.next(
        (f) =>
          f.op === 'update' &&
          f.type === 'message:new' &&
          (f.data as { message: Message }).message.id === message.id,
      )
      const live = (frame.data as { message: Message }).message
      expect(live.attachments.map((a) => a.id)).toEqual(message.attachments.map((a) => a.id))
      expect(live.media_url).toBe(message.media_url)
    } finally {
      socket.close()
    }
  })

  it("refuses another user's attachment (404), one not ready (409), a kind that does not fit (400), and media on a text", async () => {
    const { ada, bob, chatId } = await pair()
    const bobs = await upload(server, bob.id, await image('png', 5), { kind: 'image', mime: 'image/png' })
    const theirs = await sendRaw(ada.client, chatId, { message_type: 'image', attachment_ids: [bobs.id] })
    expect([theirs.status, codeOf(theirs)]).toEqual([404, 'not_found'])
    const missing = await sendRaw(ada.client, chatId, {
      message_type: 'image',
      attachment_ids: [bobs.id + 1000],
    })
    expect([missing.status, codeOf(missing)]).toEqual([404, 'not_found'])

    const pending = await upload(server, ada.id, await image('png', 6), { kind: 'image', mime: 'image/png' })
    // As it is while its bytes are still being checked (direct uploads process after `complete`).
    await new AttachmentRepository(server.deps.store.db).update(pending.id, { state: 'processing' })
    const notReady = await sendRaw(ada.client, chatId, {
      message_type: 'image',
      attachment_ids: [pending.id],
    })
    expect([notReady.status, codeOf(notReady)]).toEqual([409, 'conflict'])

    const audio = await upload(server, ada.id, wav(), { kind: 'audio', mime: 'audio/wav' })
    const misfit = await sendRaw(ada.client, chatId, { message_type: 'image', attachment_ids: [audio.id] })
    expect([misfit.status, codeOf(misfit)]).toEqual([400, 'validation_error'])
    const onText = await sendRaw(ada.client, chatId, {
      message_type: 'text',
      content: 'hi',
      attachment_ids: [audio.id],
    })
    expect([onText.status, codeOf(onText)]).toEqual([400, 'validation_error'])
    const bare = await sendRaw(ada.client, chatId, { message_type: 'image' })
    expect([bare.status, codeOf(bare)]).toEqual([400, 'validation_error'])
    // Nothing was sent by any of these.
    expect(await fullHistory(ada.client, chatId)).toEqual([])
  })

  it('refuses malformed multipart, unknown fields and a send without a file with 400', async () => {
    const { ada, chatId } = await pair()
    const path = `/api/chats/${chatId}/messages`
    const unknown = await postForm(server, token(ada), path, [
      ['message_type', 'image'],
      ['file', await image(), 'image/png', 'a.png'],
      ['colour', 'blue'],
    ])
    expect([unknown.status, (unknown.body.error as { code: string }).code]).toEqual([400, 'validation_error'])
    const noFile = await postForm(server, token(ada), path, [['message_type', 'image']])
    expect(noFile.status).toBe(400)
    const textType = await postForm(server, token(ada), path, [['message_type', 'text']])
    expect(textType.status).toBe(400)
    const broken = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(ada)}`, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="message_type"\r\n\r\nimage\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG',
    })
    expect(broken.status).toBe(400)
    const noBoundary = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(ada)}`, 'content-type': 'multipart/form-data' },
      body: 'nothing',
    })
    expect(noBoundary.status).toBe(400)
    // Routes that take no form answer a multipart body as any other unsupported type.
    const elsewhere = await postForm(
      server,
      token(ada),
      `/api/chats/${chatId}/read`,
      [['message_id', '1']],
      'PUT',
    )
    expect([elsewhere.status, (elsewhere.body.error as { code: string }).code]).toEqual([
      415,
      'unsupported_media_type',
    ])
    // A reply to a message of another chat is refused after the file was stored.
    const badReply = await postForm(server, token(ada), path, [
      ['message_type', 'image'],
      ['file', await image(), 'image/png', 'a.png'],
      ['reply_to_message_id', '999999'],
    ])
    expect(badReply.status).toBe(400)
    expect(await fullHistory(ada.client, chatId)).toEqual([])
    // What the refused requests stored (the file before the unknown field, before the bad reply) is gone.
    const left = await server.deps.store.db
      .selectFrom('attachments')
      .select('id')
      .where('owner_id', '=', ada.id)
      .execute()
    expect(left).toEqual([])
  })

  it('a forward holds the same attachments (no copy), and a reply previews the thumbnail', async () => {
    const { ada, bob, chatId } = await pair()
    const carol = await createUser(server)
    const { chat: bobCarol } = await bob.client.chats.open(carol.id)
    const original = await sendImage(ada, chatId, 'pass it on')
    expect(original.thumbnail_url).toBe(`/api/media/${original.attachments[0]?.id}/thumbnail`)
    const { messages } = await bob.client.messages.forward(original.id, [bobCarol.id])
    const [copy] = messages
    expect(copy).toMatchObject({ forwarded: true, message_type: 'image', content: 'pass it on' })
    expect(copy?.attachments.map((a) => a.id)).toEqual(original.attachments.map((a) => a.id))
    const [atCarol] = (await carol.client.messages.history(bobCarol.id)).messages
    expect(atCarol?.media_url).toBe(original.media_url)

    const reply = await bob.client.messages.send(chatId, {
      message_type: 'text',
      content: 'nice',
      reply_to_message_id: original.id,
    })
    expect(reply.message.reply_to).toMatchObject({
      id: original.id,
      message_type: 'image',
      content: 'pass it on',
      thumbnail_url: original.thumbnail_url,
      deleted: false,
    })
  })

  it('a history page of 50 media messages carries each its own attachment', async () => {
    const { ada, bob, chatId } = await pair()
    const sent: Array<{ id: number; attachmentId: number }> = []
    for (let i = 0; i < 50; i++) {
      const uploaded = await upload(server, ada.id, await image('png', i), {
        kind: 'image',
        mime: 'image/png',
      })
      const { message } = await ada.client.messages.send(chatId, {
        message_type: 'image',
        attachment_ids: [uploaded.id],
        content: `photo ${i}`,
      })
      sent.push({ id: message.id, attachmentId: uploaded.id })
    }
    const page = await bob.client.messages.history(chatId, { limit: 50 })
    expect(page.messages.map((m) => [m.id, m.attachments.map((a) => a.id), m.media_url])).toEqual(
      sent.map((s) => [s.id, [s.attachmentId], mediaUrl(s.attachmentId)]),
    )
    const { chats } = await bob.client.chats.list()
    expect(chats.find((chat) => chat.id === chatId)?.last_message?.media_url).toBe(
      mediaUrl(sent[49]!.attachmentId),
    )
  })
})
