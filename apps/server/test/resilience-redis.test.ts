import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Cluster,
  clusterAdminUrl,
  registerOn,
  startCluster,
  until,
  WireDevice,
} from './helpers/cluster.ts'
import type { Running } from './helpers/process.ts'
import type { Frame } from './helpers/raw-socket.ts'

/** The issue asks for a 10 s freeze; 4 s (more than two presence leases here) shows the same. */
const FREEZE_MS = 4000
const LEASE_MS = 1500

const isPresence = (type: string, userId: number) => (frame: Frame) =>
  frame.op === 'event' && frame.type === type && (frame.data as { user_id?: number }).user_id === userId

describe.skipIf(!clusterAdminUrl)('Redis faults (postgres+redis, two real nodes, own Redis)', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(2, { PARLEY_PRESENCE_LEASE_MS: String(LEASE_MS) })
  }, 90_000)
  afterAll(() => cluster?.stop())

  it('keeps delivering through a Redis freeze (SIGSTOP) and a Redis restart: nothing lost or doubled, presence recovers', async () => {
    const [nodeA, nodeB] = cluster.nodes as [Running, Running]
    const ada = await registerOn(nodeA, 'ada')
    const bob = await registerOn(nodeB, 'bob')
    const { chat } = await ada.client.chats.open(bob.id)
    const adaDevice = new WireDevice(ada.token)
    const bobDevice = new WireDevice(bob.token)
    await adaDevice.connect(nodeA.url)
    await bobDevice.connect(nodeB.url)
    await adaDevice.socket?.next(isPresence('presence:online', bob.id))

    const acknowledged = new Set<number>()
    const refusals: string[] = []
    // A send retried with the same client_msg_id until acknowledged, as the SDK's outbox does.
    const sendUntilAcknowledged = async (clientMsgId: string) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const response = await ada.client.raw('POST', `/api/chats/${chat.id}/messages`, {
          body: { message_type: 'text', content: clientMsgId, client_msg_id: clientMsgId },
        })
        const body = response.body as { message?: { id: number }; error?: { code: string } }
        if (body.message) {
          acknowledged.add(body.message.id)
          return
        }
        refusals.push(`${response.status} ${body.error?.code}`)
        await new Promise((resolve) => setTimeout(resolve, 100)) // the client's back-off
      }
      throw new Error(`${clientMsgId} was never acknowledged`)
    }

    // 1. Redis freezes. What Ada sees: her sends wait (the node's Redis commands queue up) or are
    //    refused with 503 service_unavailable; nobody sees anything live meanwhile.
    cluster.redis.child.kill('SIGSTOP')
    const duringFreeze = Array.from({ length: 5 }, (_, i) => sendUntilAcknowledged(`freeze-${i}`))
    await new Promise((resolve) => setTimeout(resolve, FREEZE_MS)) // the freeze itself lasts this long
    cluster.redis.child.kill('SIGCONT')
    await Promise.all(duringFreeze)
    // After: every acknowledged message reaches bob once, and bob was never announced offline (a
    // freeze longer than the leases must not make the nodes declare each other dead).
    await until(
      async () => bobDevice.has(acknowledged),
      20_000,
      'bob to receive what was sent during the freeze',
    )
    expect(adaDevice.socket?.frames.filter(isPresence('presence:offline', bob.id))).toEqual([])

    // 2. Redis restarts and forgets everything (presence, subscriptions' state). Sends during the gap are
    //    refused with 503 or acknowledged; the nodes re-register their sockets and re-read the log.
    const restarting = cluster.restartRedis()
    const duringRestart = Array.from({ length: 5 }, (_, i) => sendUntilAcknowledged(`restart-${i}`))
    await restarting
    await Promise.all(duringRestart)
    // No later message is needed to reveal a gap: the readers re-read the log when the bus is back.
    await until(
      async () => bobDevice.has(acknowledged),
      20_000,
      'bob to receive what was sent around the restart',
    )
    // Presence recovers: bob (whose socket never closed) counts as online again on the other node.
    await until(
      async () => (await ada.client.users.get(bob.id)).user.is_online === true,
      20_000,
      'bob to count as online again',
    )

    for (const refusal of refusals) expect(refusal).toBe('503 service_unavailable')
    expect(acknowledged.size).toBe(10)
    expect([...bobDevice.copies.values()].every((count) => count === 1)).toBe(true)
    expect(bobDevice.duplicates).toBe(0)
    expect(adaDevice.duplicates).toBe(0)
    adaDevice.socket?.close()
    bobDevice.socket?.close()
  }, 120_000)
})
