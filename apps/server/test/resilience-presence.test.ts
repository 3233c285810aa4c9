import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cluster, clusterAdminUrl, registerOn, startCluster } from './helpers/cluster.ts'
import { type Running, stopProcess } from './helpers/process.ts'
import { type Frame, RawSocket } from './helpers/raw-socket.ts'

/** Leases this short make a dead node visible in seconds here (15 s in production). */
const LEASE_MS = 1500

const isPresence = (type: string, userId: number) => (frame: Frame) =>
  frame.op === 'event' && frame.type === type && (frame.data as { user_id?: number }).user_id === userId

describe.skipIf(!clusterAdminUrl)('presence after a node dies (postgres+redis, three real nodes)', () => {
  let cluster: Cluster
  const sockets: RawSocket[] = []
  beforeAll(async () => {
    cluster = await startCluster(3, { PARLEY_PRESENCE_LEASE_MS: String(LEASE_MS) })
  }, 90_000)
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await cluster?.stop()
  })
  const open = async (node: Running, token: string) => {
    const socket = await RawSocket.open(node.url, token, 0)
    sockets.push(socket)
    return socket
  }

  it('announces the users of a SIGKILLed node offline once, with last seen, and counts them offline', async () => {
    const [nodeA, nodeB, nodeC] = cluster.nodes as [Running, Running, Running]
    const ada = await registerOn(nodeA, 'ada')
    const bob = await registerOn(nodeB, 'bob')
    const cat = await registerOn(nodeC, 'cat')
    // Private chats make ada and cat watchers of bob's presence (last seen visible to everybody).
    await ada.client.chats.open(bob.id)
    await cat.client.chats.open(bob.id)
    const adaSocket = await open(nodeA, ada.token)
    const catSocket = await open(nodeC, cat.token)
    await open(nodeB, bob.token)
    await adaSocket.next(isPresence('presence:online', bob.id))
    await catSocket.next(isPresence('presence:online', bob.id))
    expect((await ada.client.users.get(bob.id)).user).toMatchObject({ is_online: true, last_seen_at: null })

    // Node B dies without a word: no socket close reaches anybody, nothing is announced by B.
    await stopProcess(nodeB, 'SIGKILL')

    // What watchers see: one `presence:offline` for bob, from whichever survivor claimed B's lease,
    // within a lease and an upkeep round (bounded here at 10 leases).
    const offline = await adaSocket.next(isPresence('presence:offline', bob.id), LEASE_MS * 10)
    const lastSeen = (offline.data as { last_seen_at: string }).last_seen_at
    expect(Number.isNaN(Date.parse(lastSeen))).toBe(false)
    expect((await catSocket.next(isPresence('presence:offline', bob.id), LEASE_MS * 10)).data).toEqual({
      user_id: bob.id,
      last_seen_at: lastSeen,
    })
    // What is true after: bob counts as offline on every node and his last seen is stored.
    for (const client of [ada.client, cat.client]) {
      expect((await client.users.get(bob.id)).user).toMatchObject({
        is_online: false,
        last_seen_at: lastSeen,
      })
    }

    // Bob comes back on a surviving node: watchers see him online again, after exactly one offline
    // each (two nodes claiming B would have announced twice, both before this online).
    await open(nodeA, bob.token)
    await adaSocket.next(isPresence('presence:online', bob.id))
    await catSocket.next(isPresence('presence:online', bob.id))
    for (const socket of [adaSocket, catSocket]) {
      expect(socket.frames.filter(isPresence('presence:offline', bob.id))).toHaveLength(1)
      expect(socket.frames.filter(isPresence('presence:online', bob.id))).toHaveLength(2)
    }
    expect((await cat.client.users.get(bob.id)).user.is_online).toBe(true)
  }, 60_000)
})
