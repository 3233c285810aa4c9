/** Time comes from deps so tests can move it (OTP expiry, lock-outs) without sleeping. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now() {
    return this.current
  }
  advance(ms: number) {
    this.current += ms
  }
}
