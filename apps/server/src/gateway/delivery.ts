import { CLOSE_CODES, type CloseReason, type Update } from '@parley/protocol'
import type { WebSocket } from 'ws'
import { readUpdates } from '../access/sync.ts'
import type { Deps } from '../deps.ts'
import {
  encodeReady,
  encodeResyncRequired,
  encodeUpdate,
  mayDeliver,
  peekUpdateSeq,
} from '../realtime/wire.ts'
import { UpdateLogRepository } from '../store/update-log.repository.ts'
import type { AckBatcher } from './ack-batcher.ts'

const CATCH_UP_PAGE = 500
/**
 * Live frames wait in the pump while a catch-up is paced; past this many the device is too far behind
 * to hold in memory and reconnects to read from the log instead.
 */
const MAX_QUEUED_LIVE = 10_000
/** An ack that covers no delivery is still passed on after this many updates, to bound its later scan. */
const MAX_SKIPPED_ACK_RANGE = 1000

/** What delivery needs from the connection that owns it. */
export interface DeliveryHost {
  readonly closed: boolean
  close(reason: CloseReason): void
  /** `ready` is out: frames held behind the hello may run, ephemeral events may flow. */
  onReady(): void
}

/**
 * One authenticated socket's outbound side. Delivery is a single serial pump: the catch-up read is
 * queued right after the bus subscription, and every live frame is queued behind it, so the client
 * sees each `seq` once and in order; a live frame that skips a seq (the bus lost one) is filled from
 * the database (DESIGN §3.4). Also filters acks and corks the frames of one event-loop turn.
 */
export class Delivery {
  private lastSent = 0
  private pump: Promise<void> = Promise.resolve()
  private queuedLive = 0
  /** The newest seq sent (or resumed past) that may deliver someone else's message. */
  private mayDeliverThrough = 0
  /** Acks up to here were passed on to the batcher (`ackPassed`) or found to deliver nothing. */
  private ackHandled = 0
  private ackPassed = 0
  private corked = false

  constructor(
    private readonly deps: Deps,
    private readonly socket: WebSocket,
    private readonly userId: number,
    private readonly acks: AckBatcher,
    private readonly host: DeliveryHost,
  ) {}

  /** Queues the catch-up from `since`: `ready` (or `resync_required` + `ready`), then the log's pages. */
  start(since: number, sessionId: string): void {
    this.enqueue(() => this.catchUp(since, sessionId))
  }

  /** A frame from the user's topic (realtime/publish.ts). */
  live(frame: string): void {
    this.queuedLive += 1
    if (this.queuedLive > MAX_QUEUED_LIVE) {
      this.host.close(CLOSE_CODES.slowConsumer)
      return
    }
    this.enqueue(async () => {
      this.queuedLive -= 1
      await this.fill(frame)
    })
  }

  /**
   * The bus was cut off and is back (bus.ts `onReconnect`): frames published meanwhile may be lost,
   * so read the log past the last sent, as a gap fill would, without waiting for the next live frame.
   */
  recheck(): void {
    this.enqueue(async () => {
      while (!this.host.closed) {
        const page = await readUpdates(this.deps, this.userId, this.lastSent, CATCH_UP_PAGE)
        if ('resync_required' in page) return this.host.close(CLOSE_CODES.serverRestart)
        for (const update of page.updates) await this.sendRead(update)
        if (!page.has_more) return
      }
    })
  }

  /**
   * Acks go to the node's batcher (applied together every ACK_BATCH_MS). Most acks cover only the
   * user's own echoes, ticks and reads; one whose range this socket knows holds no one else's message
   * is not passed on at all.
   */
  ack(seq: number): void {
    const target = Math.min(seq, this.lastSent)
    if (target <= this.ackHandled) return
    const deliversNothing = this.mayDeliverThrough <= this.ackHandled
    this.ackHandled = target
    if (deliversNothing && target - this.ackPassed < MAX_SKIPPED_ACK_RANGE) return
    this.ackPassed = target
    this.acks.add(this.userId, target)
  }

  send(frame: string): void {
    if (this.host.closed) return
    this.cork()
    this.socket.send(frame)
    // Never let one slow device hold memory or the hub: past the bound it reconnects and resumes.
    if (this.socket.bufferedAmount > this.deps.config.wsMaxBufferedBytes)
      this.host.close(CLOSE_CODES.slowConsumer)
  }

  private enqueue(task: () => Promise<void>): void {
    this.pump = this.pump.then(task).catch((error: unknown) => {
      this.deps.log.error({ err: error, user_id: this.userId }, 'gateway delivery failed')
      this.host.close(CLOSE_CODES.serverRestart)
    })
  }

  private async catchUp(since: number, sessionId: string): Promise<void> {
    const newest = (await new UpdateLogRepository(this.deps.store.db).cursor(this.userId)).seq
    let page = await readUpdates(this.deps, this.userId, since, CATCH_UP_PAGE)
    if ('resync_required' in page) {
      this.send(encodeResyncRequired(page.current_seq))
      this.lastSent = page.current_seq
      this.mayDeliverThrough = page.current_seq
      this.send(encodeReady(page.current_seq, sessionId))
      this.host.onReady()
      return
    }
    this.lastSent = since
    // What came before this connection is unknown here: acks up to `since` are passed on.
    this.mayDeliverThrough = since
    // Resuming from `since` proves the device holds everything up to it (as a sync cursor does).
    if (since > 0) this.ack(since)
    this.send(encodeReady(Math.max(newest, since), sessionId))
    this.host.onReady()
    for (;;) {
      for (const update of page.updates) await this.sendRead(update)
      if (!page.has_more || this.host.closed) return
      const next = await readUpdates(this.deps, this.userId, this.lastSent, CATCH_UP_PAGE)
      if ('resync_required' in next) return this.host.close(CLOSE_CODES.serverRestart)
      page = next
    }
  }

  /** A live frame: in sequence → send its bytes; already sent → skip; ahead → fill the gap from the log. */
  private async fill(frame: string): Promise<void> {
    const seq = peekUpdateSeq(frame)
    if (!Number.isSafeInteger(seq) || seq <= this.lastSent || this.host.closed) return
    if (seq === this.lastSent + 1) return this.sendUpdate(seq, frame)
    while (this.lastSent < seq && !this.host.closed) {
      const page = await readUpdates(this.deps, this.userId, this.lastSent, CATCH_UP_PAGE)
      if ('resync_required' in page || page.updates.length === 0)
        return this.host.close(CLOSE_CODES.serverRestart)
      for (const update of page.updates) await this.sendRead(update)
    }
  }

  /**
   * An update read from the log (catch-up, gap fill) is paced by the consumer: when the socket's unsent
   * bytes pass half the bound, wait until this frame is flushed instead of closing the socket.
   */
  private async sendRead(update: Update): Promise<void> {
    if (this.host.closed) return
    const frame = encodeUpdate(update)
    if (this.socket.bufferedAmount < this.deps.config.wsMaxBufferedBytes / 2) {
      this.sendUpdate(update.seq, frame)
      return
    }
    await new Promise<void>((resolve) => this.socket.send(frame, () => resolve()))
    this.sent(update.seq, frame)
  }

  private sendUpdate(seq: number, frame: string): void {
    this.send(frame)
    this.sent(seq, frame)
  }

  private sent(seq: number, frame: string): void {
    this.lastSent = seq
    if (mayDeliver(frame, this.userId)) this.mayDeliverThrough = seq
  }

  /**
   * Frames sent in one turn of the event loop leave in one write: a group commit answers many sends
   * at once, and one syscall per frame was the largest cost of group fan-out (profiled: ~18 % of CPU
   * in writev). `ws` has no public cork; its `_socket` is the TCP socket it writes to.
   */
  private cork(): void {
    if (this.corked) return
    const tcp = (this.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
    if (!tcp) return
    this.corked = true
    tcp.cork()
    setImmediate(() => {
      this.corked = false
      tcp.uncork()
    })
  }
}
