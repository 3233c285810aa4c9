/** Latency samples in milliseconds; percentiles are exact (the samples are sorted once, on demand). */
export class Samples {
  private values = new Float64Array(1024)
  private length = 0
  private sorted = true

  get count(): number {
    return this.length
  }

  add(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.length++] = value
    this.sorted = false
  }

  /** The value at quantile `q` (0..1) by the nearest-rank method; 0 when there are no samples. */
  quantile(q: number): number {
    if (this.length === 0) return 0
    if (!this.sorted) {
      this.values.subarray(0, this.length).sort()
      this.sorted = true
    }
    const rank = Math.min(this.length, Math.max(1, Math.ceil(q * this.length)))
    return this.values[rank - 1] ?? 0
  }

  mean(): number {
    let sum = 0
    for (let i = 0; i < this.length; i++) sum += this.values[i] ?? 0
    return this.length === 0 ? 0 : sum / this.length
  }

  summary(): LatencySummary {
    return {
      count: this.length,
      avg: round(this.mean()),
      p50: round(this.quantile(0.5)),
      p95: round(this.quantile(0.95)),
      p99: round(this.quantile(0.99)),
      p999: round(this.quantile(0.999)),
      max: round(this.quantile(1)),
    }
  }
}

export interface LatencySummary {
  count: number
  avg: number
  p50: number
  p95: number
  p99: number
  p999: number
  max: number
}

export const round = (value: number, digits = 2): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
