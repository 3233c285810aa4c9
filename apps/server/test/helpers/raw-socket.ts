import WebSocket from 'ws'

export type Frame = { op: string; [key: string]: unknown }

/**
 * A bare WebSocket client for gateway tests: records every frame and lets a test wait for the next one
 * that matches, with a bound (never a sleep).
 */
export class RawSocket {
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private readonly waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = []
  private seen = 0
  readonly ws: WebSocket

  constructor(url: string, headers: Record<string, string> = {}, options: { autoPong?: boolean } = {}) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, {
      headers,
      autoPong: options.autoPong ?? true,
    })
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      this.frames.push(frame)
      for (const waiter of [...this.waiters]) {
        if (waiter.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1)
          waiter.resolve(frame)
        }
      }
    })
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
  }

  static async open(
    url: string,
    token: string,
    since = 0,
    options: { autoPong?: boolean } = {},
  ): Promise<RawSocket> {
    const socket = new RawSocket(url, {}, options)
    await new Promise<void>((resolve, reject) => {
      socket.ws.once('open', () => resolve())
      socket.ws.once('error', reject)
    })
    socket.send({ op: 'hello', token, since })
    await socket.next((frame) => frame.op === 'ready')
    return socket
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** The first frame after the last one returned by `next` that matches, or the next to arrive. */
  next(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const index = this.frames.findIndex((frame, i) => i >= this.seen && match(frame))
    if (index >= 0) {
      this.seen = index + 1
      return Promise.resolve(this.frames[index] as Frame)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer)
          this.seen = this.frames.length
          resolve(frame)
        },
      })
    })
  }

  updates(): Array<{ seq: number; type: string; data: Record<string, unknown> }> {
    return this.frames.filter((frame) => frame.op === 'update') as unknown as Array<{
      seq: number
      type: string
      data: Record<string, unknown>
    }>
  }

  /** Sends a request frame and waits for its reply. */
  async request(op: string, id: string, fields: Record<string, unknown>): Promise<Frame> {
    this.send({ op, id, ...fields })
    return this.next((frame) => frame.op === 'reply' && frame.id === id)
  }

  close(): void {
    this.ws.close()
  }
}
