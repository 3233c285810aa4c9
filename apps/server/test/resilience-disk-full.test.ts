import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from './helpers/factories.ts'
import { fullHistory } from './helpers/messaging.ts'
import { NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.ts'

/**
 * The embedded server's disk fills up. The data dir is a tmpfs of 8 MB (mounting needs root, which
 * the test runner is); a filler file takes what is left.
 */
describe('the embedded server out of disk space (sqlite, 8 MB tmpfs data dir)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-full-'))
  const filler = path.join(dataDir, 'filler')
  let server: TestServer
  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dataDir])
    server = await startServer('sqlite', { ...NO_RATE_LIMITS, PARLEY_DATA_DIR: dataDir })
  })
  afterAll(async () => {
    await server?.close()
    execFileSync('umount', [dataDir])
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  /** Writes until the file system refuses. */
  const fillDisk = () => {
    const chunk = Buffer.alloc(64 * 1024, 1)
    const fd = fs.openSync(filler, 'w')
    try {
      for (;;) fs.writeSync(fd, chunk)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
    } finally {
      fs.closeSync(fd)
    }
  }

  it('refuses writes with 507 insufficient_storage, keeps nothing half-written, and resumes when space returns', async () => {
    const [ada, bob] = await Promise.all([createUser(server), createUser(server)])
    const { chat } = await ada.client.chats.open(bob.id)
    const send = (clientMsgId: string) =>
      ada.client.raw('POST', `/api/chats/${chat.id}/messages`, {
        body: {
          message_type: 'text',
          content: `${clientMsgId} ${'x'.repeat(3000)}`,
          client_msg_id: clientMsgId,
        },
      })
    const acknowledged = new Map<string, number>()
    const first = await send('before')
    acknowledged.set('before', (first.body as { message: { id: number } }).message.id)

    // The disk fills up. What Ada sees: her sends are refused with 507 insufficient_storage (the
    // database's free pages may take a few first), and reads keep working.
    fillDisk()
    const refused: string[] = []
    for (let i = 0; i < 2000 && refused.length < 3; i++) {
      const clientMsgId = `full-${i}`
      const response = await send(clientMsgId)
      const body = response.body as { message?: { id: number }; error?: { code: string } }
      if (body.message) acknowledged.set(clientMsgId, body.message.id)
      else {
        expect({ status: response.status, code: body.error?.code }).toEqual({
          status: 507,
          code: 'insufficient_storage',
        })
        refused.push(clientMsgId)
      }
    }
    expect(refused.length).toBe(3)
    const whileFull = await fullHistory(bob.client, chat.id)
    expect(whileFull.map((message) => message.id)).toEqual([...acknowledged.values()])

    // Space returns (the operator frees the disk): the same sends, retried, go through once each.
    fs.rmSync(filler)
    for (const clientMsgId of refused) {
      const response = await send(clientMsgId)
      expect(response.status).toBe(201)
      acknowledged.set(clientMsgId, (response.body as { message: { id: number } }).message.id)
    }
    // Nothing half-written: the history holds exactly the acknowledged messages, whole, in order.
    const history = await fullHistory(bob.client, chat.id)
    expect(history.map((message) => message.id)).toEqual([...acknowledged.values()])
    for (const message of history) expect(message.content).toMatch(/^\S+ x{3000}$/)
    const { status } = await server.client().raw('GET', '/health/detailed')
    expect(status).toBe(200)
  }, 120_000)
})
