import type { Message } from '@parley/protocol'
import type { ParleySocket } from '@parley/sdk'
import { describe, expect, it } from 'vitest'
import { LoadDriver, workload } from './load.ts'
import type { BenchChat, BenchUser } from './population.ts'

/** A user whose socket records sends and answers them only when told to. */
function fakeUser(
  index: number,
  sends: Array<{ chatId: number; content: string; answer: () => void }>,
): BenchUser {
  const socket = {
    send(chatId: number, body: { content?: string }) {
      return new Promise<void>((resolve) =>
        sends.push({ chatId, content: body.content ?? '', answer: resolve }),
      )
    },
  } as unknown as ParleySocket
  return { index, id: index + 100, url: '', rest: null as never, accessToken: '', refreshToken: '', socket }
}

const messageFor = (id: number, chatId: number, content: string) =>
  ({ id, chat_id: chatId, content }) as Message

describe('LoadDriver', () => {
  it('sends open loop: on schedule although no send is ever answered', async () => {
    const sends: Array<{ chatId: number; content: string; answer: () => void }> = []
    const chat: BenchChat = { id: 7, members: [fakeUser(0, sends), fakeUser(1, sends)] }
    const driver = new LoadDriver(workload([chat], [], 1))
    const phase = driver.newPhase()
    await driver.load(phase, 0.3, () => 400)
    // 400/s for 0.3 s, none answered: the schedule alone decides how many went out.
    expect(sends.length).toBeGreaterThanOrEqual(119)
    expect(sends.length).toBeLessThanOrEqual(120)
    expect(phase).toMatchObject({ sent: sends.length, acked: 0, expected: sends.length })
    expect(sends.every((send) => send.chatId === 7 && send.content.startsWith(`bench:${phase.id}:`))).toBe(
      true,
    )
  })

  it('counts each delivery once per device, flags duplicates, and ignores other phases', async () => {
    const sends: Array<{ chatId: number; content: string; answer: () => void }> = []
    const [alice, bob, carol] = [fakeUser(0, sends), fakeUser(1, sends), fakeUser(2, sends)]
    const group: BenchChat = { id: 9, members: [alice, bob, carol] }
    const driver = new LoadDriver(workload([], [group], 1))
    const phase = driver.newPhase()
    await driver.load(phase, 0.05, () => 100)
    expect(phase.sent).toBe(5)
    expect(phase.expected).toBe(10) // two recipients each
    const first = sends[0]
    if (!first) throw new Error('nothing was sent')
    first.answer()
    const message = messageFor(1, 9, first.content)
    driver.hooks.onMessage(bob, message)
    driver.hooks.onMessage(carol, message)
    driver.hooks.onMessage(carol, message)
    driver.hooks.onMessage(bob, messageFor(2, 9, 'bench:999:1'))
    driver.hooks.onMessage(bob, messageFor(3, 9, 'hello'))
    await Promise.resolve()
    expect(phase).toMatchObject({ acked: 1, delivered: 2, duplicates: 1 })
    expect(phase.latency.count).toBe(2)
    expect(phase.ackLatency.count).toBe(1)
  })

  it('stops counting a phase once it ended', async () => {
    const sends: Array<{ chatId: number; content: string; answer: () => void }> = []
    const [alice, bob] = [fakeUser(0, sends), fakeUser(1, sends)]
    const driver = new LoadDriver(workload([{ id: 1, members: [alice, bob] }], [], 1))
    const phase = driver.newPhase()
    await driver.load(phase, 0.01, () => 100)
    driver.endPhase(phase)
    driver.hooks.onMessage(bob, messageFor(1, 1, sends[0]?.content ?? ''))
    expect(phase.delivered).toBe(0)
  })
})
