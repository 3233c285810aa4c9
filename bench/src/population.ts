import type { Message } from '@parley/protocol'
import { ParleySocket, RestClient } from '@parley/sdk'
import WebSocket from 'ws'

/** One seeded user with its own device (socket) on one of the servers. */
export interface BenchUser {
  index: number
  id: number
  url: string
  rest: RestClient
  accessToken: string
  refreshToken: string
  socket: ParleySocket | null
}

export interface SeededUser {
  id: number
  access_token: string
  refresh_token: string
}

/** How many requests the bench keeps in flight while it sets up (seeding, chats, connecting). */
const SETUP_CONCURRENCY = 64
const SEED_BATCH = 1000

/** Runs `work` over `items` with at most `limit` running at once. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
) {
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      await work(items[index] as T, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}

/** Creates `count` users through the admin seeding path (`POST /api/admin/seed/users`). */
export async function seedUsers(urls: string[], adminToken: string, count: number): Promise<BenchUser[]> {
  const admin = new RestClient({ baseUrl: urls[0] ?? '' })
  const seeded: SeededUser[] = []
  for (let offset = 0; offset < count; offset += SEED_BATCH) {
    const { users } = await admin.admin.seedUsers(adminToken, {
      count: Math.min(SEED_BATCH, count - offset),
      name_prefix: 'bench',
    })
    seeded.push(...users)
  }
  return seeded.map((user, index) => {
    const url = urls[index % urls.length] ?? ''
    return {
      index,
      id: user.id,
      url,
      rest: new RestClient({ baseUrl: url, accessToken: user.access_token }),
      accessToken: user.access_token,
      refreshToken: user.refresh_token,
      socket: null,
    }
  })
}

/** A chat the scenario sends into, with its members (the sender is picked among them). */
export interface BenchChat {
  id: number
  members: BenchUser[]
}

/** Pairs users (0,1), (2,3)… and opens a private chat for each pair. */
export async function openPairs(users: BenchUser[]): Promise<BenchChat[]> {
  const pairs: Array<[BenchUser, BenchUser]> = []
  for (let i = 0; i + 1 < users.length; i += 2) pairs.push([users[i] as BenchUser, users[i + 1] as BenchUser])
  const chats: BenchChat[] = new Array(pairs.length)
  await eachLimited(pairs, SETUP_CONCURRENCY, async ([a, b], index) => {
    const { chat } = await a.rest.chats.open(b.id)
    chats[index] = { id: chat.id, members: [a, b] }
  })
  return chats
}

/** Splits users into groups of `size` (the remainder joins no group) and creates each group. */
export async function createGroups(users: BenchUser[], size: number): Promise<BenchChat[]> {
  const memberLists: BenchUser[][] = []
  for (let i = 0; i + size <= users.length; i += size) memberLists.push(users.slice(i, i + size))
  const chats: BenchChat[] = new Array(memberLists.length)
  await eachLimited(memberLists, Math.max(1, Math.floor(SETUP_CONCURRENCY / 8)), async (members, index) => {
    const [owner, ...rest] = members as [BenchUser, ...BenchUser[]]
    const { group, not_added } = await owner.rest.groups.create({
      name: `bench group ${index + 1}`,
      participants: rest.map((user) => user.id),
    })
    if (not_added.length > 0)
      throw new Error(`group ${index + 1}: ${not_added.length} members were not added`)
    chats[index] = { id: group.id, members }
  })
  return chats
}

export interface SocketHooks {
  /** A `message:new` for someone else's message reached `user`'s device. */
  onMessage(user: BenchUser, message: Message): void
  onDisconnect(code: number): void
}

const wsUrl = (url: string) => `${url.replace(/^http/, 'ws')}/ws`

/** Connects every user's device (a ParleySocket over `ws`) and waits until each is ready. */
export async function connectAll(users: BenchUser[], hooks: SocketHooks): Promise<void> {
  await eachLimited(users, SETUP_CONCURRENCY, async (user) => {
    const socket = new ParleySocket({
      WebSocket,
      since: 0,
      getToken: async ({ refresh }) => {
        if (refresh) {
          const tokens = await user.rest.auth.refresh(user.refreshToken)
          user.accessToken = tokens.access_token
          user.refreshToken = tokens.refresh_token
        }
        return user.accessToken
      },
    })
    socket.onUpdate('message:new', ({ message }) => {
      if (message.sender_id !== user.id) hooks.onMessage(user, message)
    })
    socket.on('disconnected', ({ code }) => hooks.onDisconnect(code))
    user.socket = socket
    await socket.connect(wsUrl(user.url))
  })
}

export function closeAll(users: BenchUser[]): void {
  for (const user of users) user.socket?.close()
}
