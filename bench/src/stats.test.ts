import { describe, expect, it } from 'vitest'
import { Samples } from './stats.ts'

describe('Samples', () => {
  it('answers nearest-rank percentiles over every sample, in any insertion order', () => {
    const samples = new Samples()
    // 1..2000 shuffled: grows past the initial buffer.
    const values = Array.from({ length: 2000 }, (_, i) => i + 1).sort(() => Math.random() - 0.5)
    for (const value of values) samples.add(value)
    expect(samples.summary()).toEqual({
      count: 2000,
      avg: 1000.5,
      p50: 1000,
      p95: 1900,
      p99: 1980,
      p999: 1998,
      max: 2000,
    })
  })

  it('keeps answering after more samples arrive', () => {
    const samples = new Samples()
    samples.add(5)
    expect(samples.quantile(1)).toBe(5)
    samples.add(1)
    expect(samples.quantile(0.5)).toBe(1)
    expect(samples.quantile(1)).toBe(5)
  })

  it('reports zeros when nothing was measured', () => {
    expect(new Samples().summary()).toEqual({ count: 0, avg: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 })
  })
})
