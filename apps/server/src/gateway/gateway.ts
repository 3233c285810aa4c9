import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import websocket from '@fastify/websocket'
import { CLOSE_CODES } from '@parley/protocol'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { presenceAudience, recordLastSeen } from '../actions/presence.ts'
import { typingAudience } from '../actions/typing.ts'
import { pusherSigningKey } from '../auth/pusher-signature.ts'
import type { Deps } from '../deps.ts'
import { errors } from '../errors.ts'
import { Ephemeral } from '../realtime/ephemeral.ts'
import { AckBatcher } from './ack-batcher.ts'
import { asyncApiDocument } from './asyncapi.ts'
import { Connection } from './connection.ts'
import { PusherConnection } from './pusher/connection.ts'
import { MAX_PROTOCOL, MIN_PROTOCOL, PUSHER_CLOSE, type PusherClose } from './pusher/protocol.ts'
import { SocketCounts } from './socket-limits.ts'

/** Browsers may open the socket only from this server's origin or the configured CORS origins. */
function originAllowed(deps: Deps, origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true
  const allowed = deps.config.corsOrigins
  if (allowed.includes('*') || allowed.includes(origin)) return true
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}

/**
 * @fastify/websocket routes the upgrade through Fastify with a stand-in ServerResponse attached to the
 * TCP socket, and guards the socket with an error listener that closes over the request and reply: both
 * would live as long as the socket (measured: ~5 KB of a 13 KB idle connection). The connection keeps
 * its own error listener (Connection), so drop theirs and detach the stand-in response.
 */
function releaseUpgrade(socket: WebSocket, raw: IncomingMessage): void {
  socket.removeAllListeners('error')
  const tcp = raw.socket as Socket & { _httpMessage?: ServerResponse | null }
  tcp._httpMessage?.detachSocket(tcp)
}

/** `/ws`: the live end of the update log, requests, and ephemeral events (typing, presence). */
export async function registerGateway(app: FastifyInstance, deps: Deps, registry: Registry): Promise<void> {
  const connections = new Set<Connection>()
  const pusherConnections = new Set<PusherConnection>()
  const ephemeral = new Ephemeral(deps, {
    presenceAudience: (userId) => presenceAudience(deps, userId),
    recordLastSeen: (userId, now) => recordLastSeen(deps, userId, now),
    typingAudience: (userId, chatId) => typingAudience(deps, userId, chatId),
  })
  const acks = new AckBatcher(deps)
  new Gauge({
    name: 'parley_ws_connections',
    help: 'Open WebSocket connections on this node',
    registers: [registry],
    collect() {
      this.set(connections.size + pusherConnections.size)
    },
  })
  // What this node keeps per socket, user or topic: each must fall back to zero once every client left
  // (test/resilience-soak.test.ts; a soak run reads it to spot growth).
  new Gauge({
    name: 'parley_node_entries',
    help: 'Entries in per-socket, per-user and per-topic state this node holds, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const ephemeralSizes = ephemeral.sizes
      this.set({ kind: 'sockets' }, connections.size + pusherConnections.size)
      this.set({ kind: 'bus_topics' }, deps.bus.topicCount)
      this.set({ kind: 'typing_indicators' }, ephemeralSizes.typing)
      this.set({ kind: 'presence_tasks' }, ephemeralSizes.chains)
      this.set({ kind: 'pending_ack_users' }, acks.size)
      this.set({ kind: 'pending_per_ip' }, context.pendingPerIp.size)
      this.set({ kind: 'sockets_per_session' }, context.perSession.size)
    },
  })
  const frameErrors = new Counter({
    name: 'parley_ws_errors_total',
    help: 'WebSocket frames refused or failed, by reason (a close reason, a reply error code, or internal_error)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  await app.register(websocket, { options: { maxPayload: deps.config.wsMaxFrameBytes } })

  const context = {
    deps,
    ephemeral,
    acks,
    frameErrors,
    pendingPerIp: new SocketCounts(deps.config.wsMaxPendingPerIp),
    perSession: new SocketCounts(deps.config.wsMaxSocketsPerSession),
  }

  const heartbeat = setInterval(() => {
    for (const connection of connections) connection.heartbeat()
    for (const connection of pusherConnections) connection.heartbeat()
  }, deps.config.wsHeartbeatMs)
  heartbeat.unref()
  deps.bus.onReconnect(() => {
    for (const connection of connections) connection.recheck()
  })
  app.addHook('preClose', async () => {
    clearInterval(heartbeat)
    for (const connection of connections) connection.close(CLOSE_CODES.serverRestart)
    for (const connection of pusherConnections) connection.close(PUSHER_CLOSE.reconnect)
    await acks.close()
    await ephemeral.idle()
    ephemeral.close()
  })

  // Both faces refuse a browser page from another origin before the upgrade.
  const checkOrigin = async (request: FastifyRequest) => {
    if (!originAllowed(deps, request.headers.origin, request.headers.host)) {
      throw errors.forbidden('This origin may not open a socket')
    }
  }

  const asyncApi = asyncApiDocument()
  app.get('/asyncapi.json', { schema: { hide: true } }, async () => asyncApi)

  app.get(
    '/ws',
    {
      websocket: true,
      schema: { hide: true },
      preValidation: checkOrigin,
    },
    (socket, request) => {
      releaseUpgrade(socket, request.raw)
      const connection = new Connection(context, socket, request.ip)
      connections.add(connection)
      socket.on('close', () => connections.delete(connection))
    },
  )

  // The second face: the Pusher Channels protocol for pusher-js / Laravel Echo (docs/api/pusher.md).
  const pusherContext = {
    ...context,
    appKey: deps.config.pusherAppKey,
    signingKey: pusherSigningKey(deps.secret),
  }
  app.get<{ Params: { key: string }; Querystring: { protocol?: string } }>(
    '/app/:key',
    {
      websocket: true,
      schema: { hide: true },
      preValidation: checkOrigin,
    },
    (socket, request) => {
      releaseUpgrade(socket, request.raw)
      const connection = new PusherConnection(pusherContext, socket, request.ip)
      pusherConnections.add(connection)
      socket.on('close', () => pusherConnections.delete(connection))
      const protocol = Number(request.query.protocol)
      let refusal: PusherClose | null = null
      if (request.params.key !== pusherContext.appKey) refusal = PUSHER_CLOSE.appKeyNotFound
      else if (!Number.isInteger(protocol) || protocol < MIN_PROTOCOL || protocol > MAX_PROTOCOL)
        refusal = PUSHER_CLOSE.unsupportedProtocol
      connection.open(refusal)
    },
  )
}
