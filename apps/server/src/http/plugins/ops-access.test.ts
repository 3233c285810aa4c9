import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isLoopback, opsDecision } from './ops-access.ts'

const digest = (value: string) => crypto.createHash('sha256').update(value).digest()
const TOKEN = 'm'.repeat(40)

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])('%s is this machine', (address) => {
    expect(isLoopback(address)).toBe(true)
  })
  it.each([
    '10.0.0.1',
    '192.168.1.10',
    '0.0.0.0',
    '::',
    '::ffff:10.0.0.1',
    'fe80::1',
    '128.0.0.1',
    '',
    undefined,
  ])('%s is not', (address) => {
    expect(isLoopback(address)).toBe(false)
  })
})

describe('opsDecision', () => {
  it('without a token: allows a client on this machine and hides the route from others', () => {
    const local = { expected: null, presented: null, peerAddress: '127.0.0.1', clientAddress: '127.0.0.1' }
    expect(opsDecision(local)).toBe('allow')
    expect(opsDecision({ ...local, peerAddress: '10.0.0.5', clientAddress: '10.0.0.5' })).toBe('not_found')
  })

  it('without a token: a forged X-Forwarded-For does not make a remote peer local', () => {
    expect(
      opsDecision({
        expected: null,
        presented: null,
        peerAddress: '203.0.113.9',
        clientAddress: '127.0.0.1',
      }),
    ).toBe('not_found')
  })

  it('without a token: a proxy on this machine forwarding a remote client is not local', () => {
    expect(
      opsDecision({
        expected: null,
        presented: null,
        peerAddress: '127.0.0.1',
        clientAddress: '203.0.113.9',
      }),
    ).toBe('not_found')
  })

  it('with a token: only the token opens it, from anywhere, loopback included', () => {
    const base = { expected: digest(TOKEN), peerAddress: '127.0.0.1', clientAddress: '127.0.0.1' }
    expect(opsDecision({ ...base, presented: TOKEN })).toBe('allow')
    expect(opsDecision({ ...base, presented: null })).toBe('unauthorized')
    expect(opsDecision({ ...base, presented: `${TOKEN}x` })).toBe('unauthorized')
    expect(
      opsDecision({ ...base, presented: TOKEN, peerAddress: '10.0.0.5', clientAddress: '10.0.0.5' }),
    ).toBe('allow')
  })
})
