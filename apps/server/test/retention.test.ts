import crypto from 'node:crypto'
import type { RestClient } from '@parley/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { purgeExpiredUpdates } from '../src/jobs/retention.ts'
import { startScheduler } from '../src/jobs/scheduler.ts'
import { withJobLock } from '../src/store/job-lock.repository.ts'
import { createUser } from './helpers/factories.ts'
import { MODES, startServer, type TestServer } from './helpers/server.ts'

const DAY = 24 * 60 * 60 * 1000

const say = (client: RestClient, chatId: number, content: string) =>
  client.messages.send(chatId, { message_type: 'text', content, client_msg_id: crypto.randomUUID() })

/** The caller's current seq, whatever their cursor. */
async function currentSeq(client: RestClient): Promise<number> {
  const page = await client.sync(Number.MAX_SAFE_INTEGER)
  if ('updates' in page) throw new Error('a cursor past the end must resync')
  return page.current_seq
}

describe.each(MODES)('update log retention (%s)', (mode) => {
  let server: TestServer
  beforeAll(async () => {
    // The clock jumps by weeks here: keep the test users' sessions alive across the jumps.
    const year = String(365 * 24 * 60 * 60)
    server = await startServer(mode, { PARLEY_ACCESS_TOKEN_TTL: year, PARLEY_REFRESH_TOKEN_TTL: year })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('drops updates older than the window: an old cursor must resync, newer updates survive', async () => {
    const ada = await createUser(server)
    const bob = await createUser(server)
    const { chat } = await ada.client.chats.open(bob.id)
    await say(ada.client, chat.id, 'long ago')
    await say(bob.client, chat.id, 'also long ago')
    const adaOld = await currentSeq(ada.client)
    const bobOld = await currentSeq(bob.client)
    expect(adaOld).toBeGreaterThanOrEqual(3) // chat:created and two message:new

    // Inside the window nothing goes.
    server.clock.advance(29 * DAY)
    await purgeExpiredUpdates(server.deps)
    const within = await ada.client.sync(0)
    expect('updates' in within && within.updates[0]?.seq).toBe(1)

    server.clock.advance(2 * DAY)
    const fresh = await say(bob.client, chat.id, 'today')
    const outcome = await purgeExpiredUpdates(server.deps)
    expect(outcome.users).toBeGreaterThanOrEqual(2)
    expect(outcome.updates).toBeGreaterThanOrEqual(5) // Ada's 3 and Bob's 2, at least
    expect(outcome.changes).toBeGreaterThanOrEqual(3)
    const adaNow = await currentSeq(ada.client)
    const bobNow = await currentSeq(bob.client)
    expect(adaNow).toBeGreaterThan(adaOld)

    // A cursor from before the purge: resync, with the seq to continue from.
    const resync = { success: true, resync_required: true }
    expect(await ada.client.sync(0)).toEqual({ ...resync, current_seq: adaNow })
    expect(await ada.client.sync(adaOld - 1)).toEqual({ ...resync, current_seq: adaNow })
    expect(await bob.client.sync(0)).toEqual({ ...resync, current_seq: bobNow })
    expect(await bob.client.sync(bobOld - 1)).toEqual({ ...resync, current_seq: bobNow })

    // From the end of what was purged, the newer update is still there.
    const survivor = await ada.client.sync(adaOld)
    expect(survivor).toMatchObject({ success: true, next_seq: adaNow, has_more: false })
    const survived = 'updates' in survivor ? survivor.updates : []
    expect(survived[0]?.seq).toBe(adaOld + 1)
    expect(survived.find((update) => update.type === 'message:new')?.data).toMatchObject({
      chat_id: chat.id,
      message: { id: fresh.message.id, content: 'today' },
    })

    // A fresh cursor (current_seq) keeps working, and new updates follow it with no gap.
    expect(await ada.client.sync(adaNow)).toEqual({
      success: true,
      updates: [],
      next_seq: adaNow,
      has_more: false,
    })
    await say(ada.client, chat.id, 'and now')
    const next = await ada.client.sync(adaNow)
    expect('updates' in next && next.updates.map((update) => [update.seq, update.type])).toEqual([
      [adaNow + 1, 'message:new'],
    ])

    // State itself is untouched: the history still has every message.
    const history = await ada.client.messages.history(chat.id)
    expect(history.messages.map((message) => message.content)).toEqual([
      'long ago',
      'also long ago',
      'today',
      'and now',
    ])
  })

  it('leaves users with nothing old alone, and a second run finds nothing to do', async () => {
    const ada = await createUser(server)
    const cyd = await createUser(server)
    const { chat } = await ada.client.chats.open(cyd.id)
    await say(ada.client, chat.id, 'hello')
    server.clock.advance(31 * DAY)
    await purgeExpiredUpdates(server.deps)
    const repeat = await purgeExpiredUpdates(server.deps)
    expect(repeat).toEqual({ users: 0, updates: 0, changes: 0 })

    const newcomer = await createUser(server)
    const withNewcomer = (await ada.client.chats.open(newcomer.id)).chat.id
    await say(newcomer.client, withNewcomer, 'hi, I am new')
    expect(await purgeExpiredUpdates(server.deps)).toEqual({ users: 0, updates: 0, changes: 0 })
    const page = await newcomer.client.sync(0)
    expect('updates' in page && page.updates.map((update) => [update.seq, update.type])).toEqual([
      [1, 'message:new'],
    ])
  })

  it('runs a job on one node at a time (PostgreSQL advisory lock; SQLite always leads)', async () => {
    const store = server.deps.store
    const outer = await withJobLock(store, 'probe', async () =>
      withJobLock(store, 'probe', async () => 'inner'),
    )
    expect(outer.ran).toBe(true)
    // While one holder runs the job, another (here: another pooled connection) is turned away.
    expect(outer.ran && outer.value).toEqual(
      mode === 'sqlite' ? { ran: true, value: 'inner' } : { ran: false },
    )
    // Once the first run ended, the lock is free again.
    expect(await withJobLock(store, 'probe', async () => 'again')).toEqual({ ran: true, value: 'again' })
  })

  it('the scheduler runs jobs on their interval and stop() waits for a run in progress', async () => {
    let finish = () => {}
    let started = () => {}
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    let runs = 0
    let done = false
    const scheduler = startScheduler(server.deps, [
      {
        name: 'probe-job',
        everyMs: 5,
        run: () => {
          runs += 1
          started()
          return new Promise<void>((resolve) => {
            finish = () => {
              done = true
              resolve()
            }
          })
        },
      },
    ])
    await running
    const stopping = scheduler.stop()
    finish()
    await stopping
    expect(done).toBe(true)
    // A run still in progress is never started twice.
    expect(runs).toBe(1)
  })
})
