import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Message } from '@parley/protocol'
import { RestClient } from '@parley/sdk'
import { afterAll, describe, expect, it } from 'vitest'
import { fullHistory, newMessagesIn, range, syncAll } from './helpers/messaging.ts'
import { freePort, type Running, startServerProcess, stopProcess } from './helpers/process.ts'

type Outcome = { kind: 'answered'; status: number; message: Message } | { kind: 'unanswered'; reason: string }

describe('a killed embedded server (sqlite, real process)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-crash-'))
  let running: Running | undefined
  afterAll(async () => {
    await stopProcess(running, 'SIGKILL')
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('keeps every answered send, and a client retrying the rest ends with each message exactly once', async () => {
    const port = await freePort()
    running = await startServerProcess(port, { PARLEY_DATA_DIR: dataDir })
    const first = running

    const ada = new RestClient({ baseUrl: first.url })
    const bob = new RestClient({ baseUrl: first.url })
    const password = 'correct horse battery staple'
    const adaAuth = await ada.auth.register({ username: 'ada_crash', password, name: 'Ada' })
    const bobAuth = await bob.auth.register({ username: 'bob_crash', password, name: 'Bob' })
    const { chat } = await ada.chats.open(bobAuth.user.id)

    const total = 300
    const killAfterAnswers = 120
    const inFlight = 50
    const bodies = range(1, total).map((i) => ({
      message_type: 'text' as const,
      content: `burst ${i}`,
      client_msg_id: `crash-${i}`,
    }))
    const outcomes = new Map<string, Outcome>()
    let answered = 0
    let next = 0
    // Fifty senders share the queue; the child is killed the moment the 120th answer arrives, while
    // other sends are in flight (some never committed, and sometimes some committed but unanswered).
    await Promise.all(
      range(0, inFlight).map(async () => {
        while (next < bodies.length) {
          const body = bodies[next++]
          if (!body) break
          try {
            const response = await ada.raw('POST', `/api/chats/${chat.id}/messages`, { body })
            const message = (response.body as { message?: Message }).message
            if ((response.status === 201 || response.status === 200) && message) {
              outcomes.set(body.client_msg_id, { kind: 'answered', status: response.status, message })
              answered++
              if (answered === killAfterAnswers) first.child.kill('SIGKILL')
            } else {
              outcomes.set(body.client_msg_id, { kind: 'unanswered', reason: `HTTP ${response.status}` })
            }
          } catch (error) {
            outcomes.set(body.client_msg_id, { kind: 'unanswered', reason: String(error) })
          }
        }
      }),
    )
    await stopProcess(first, 'SIGKILL')
    expect(first.child.signalCode).toBe('SIGKILL')

    const answeredBefore = [...outcomes.entries()].flatMap(([id, outcome]) =>
      outcome.kind === 'answered' ? [{ id, message: outcome.message }] : [],
    )
    const unanswered = bodies.filter((body) => outcomes.get(body.client_msg_id)?.kind !== 'answered')
    expect(answeredBefore.length).toBeGreaterThanOrEqual(killAfterAnswers)
    expect(answeredBefore.length).toBeLessThan(total)
    expect(answeredBefore.length + unanswered.length).toBe(total)

    // Restart on the same data dir; the signed-in clients carry on with the tokens they hold.
    running = await startServerProcess(port, { PARLEY_DATA_DIR: dataDir })
    const second = running
    const adaAgain = new RestClient({ baseUrl: second.url, accessToken: adaAuth.tokens.access_token })
    const bobAgain = new RestClient({ baseUrl: second.url, accessToken: bobAuth.tokens.access_token })

    // Durable before ack: every answered message is there, as it was answered. (client_msg_id is
    // shown to its sender only, so the sender's history is the one to match it in.)
    const afterCrash = await fullHistory(adaAgain, chat.id)
    const byClientId = new Map(afterCrash.map((message) => [message.client_msg_id, message]))
    for (const { id, message } of answeredBefore) {
      expect(byClientId.get(id)).toMatchObject({ id: message.id, seq: message.seq, content: message.content })
    }

    // The client retries every unanswered send with its client_msg_id; the server keeps one of each.
    const retried = await Promise.all(
      unanswered.map(async (body) => {
        const response = await adaAgain.raw('POST', `/api/chats/${chat.id}/messages`, { body })
        return { body, status: response.status, message: (response.body as { message?: Message }).message }
      }),
    )
    for (const retry of retried) {
      expect([retry.body.client_msg_id, retry.status]).toEqual([
        retry.body.client_msg_id,
        byClientId.has(retry.body.client_msg_id) ? 200 : 201,
      ])
      expect(retry.message?.content).toBe(retry.body.content)
      // A send committed just before the kill but never answered comes back as that same message.
      const committed = byClientId.get(retry.body.client_msg_id)
      if (committed) expect(retry.message?.id).toBe(committed.id)
    }

    const final = await fullHistory(adaAgain, chat.id)
    expect(final.map((message) => message.seq)).toEqual(range(1, total))
    expect(final.map((message) => message.client_msg_id).sort()).toEqual(
      bodies.map((body) => body.client_msg_id).sort(),
    )
    expect(order(await fullHistory(bobAgain, chat.id))).toEqual(order(final))

    // Each member's log has each message exactly once, in the chat's order, with gap-free seqs.
    for (const client of [bobAgain, adaAgain]) {
      const log = await syncAll(client)
      expect(log.map((update) => update.seq)).toEqual(range(1, log.length))
      expect(order(newMessagesIn(log, chat.id))).toEqual(order(final))
    }
  }, 60_000)
})

/** What every member must agree on: per-chat seq, message id and content. */
const order = (messages: Message[]) => messages.map((message) => [message.seq, message.id, message.content])
