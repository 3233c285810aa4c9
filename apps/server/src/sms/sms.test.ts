import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ConsoleSms } from './sms.console.ts'
import { TwilioSms } from './sms.twilio.ts'

interface Received {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** A stand-in for the provider's HTTP API on 127.0.0.1: records each request, answers with `status`. */
async function fakeProvider(status: number, answer: unknown) {
  const received: Received[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  servers.push(server)
  return { received, baseUrl: `http://127.0.0.1:${port}` }
}

const servers: http.Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  )
})

describe('TwilioSms', () => {
  it("posts the text to the account's Messages endpoint, form-encoded, with basic auth", async () => {
    const provider = await fakeProvider(201, { sid: 'SM1', status: 'queued' })
    const sms = new TwilioSms({
      accountSid: 'AC0123',
      authToken: 'secret-token',
      from: '+15005550006',
      baseUrl: `${provider.baseUrl}/`,
    })

    await sms.send('+14155550123', 'Your Parley code is 123456.')

    expect(provider.received).toHaveLength(1)
    const [request] = provider.received
    expect(request?.method).toBe('POST')
    expect(request?.url).toBe('/2010-04-01/Accounts/AC0123/Messages.json')
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from('AC0123:secret-token').toString('base64')}`,
    )
    expect(request?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    const form = new URLSearchParams(request?.body)
    expect(Object.fromEntries(form)).toEqual({
      To: '+14155550123',
      From: '+15005550006',
      Body: 'Your Parley code is 123456.',
    })
  })

  it("rejects with the provider's status when the provider refuses", async () => {
    const provider = await fakeProvider(400, { code: 21211, message: "The 'To' number is not valid" })
    const sms = new TwilioSms({
      accountSid: 'AC1',
      authToken: 't',
      from: '+15005550006',
      baseUrl: provider.baseUrl,
    })

    await expect(sms.send('+14155550123', 'code 123456')).rejects.toThrow(/400.*not valid/)
  })

  it('rejects when the provider cannot be reached', async () => {
    const provider = await fakeProvider(201, {})
    await Promise.all(
      servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    )
    const sms = new TwilioSms({
      accountSid: 'AC1',
      authToken: 't',
      from: '+15005550006',
      baseUrl: provider.baseUrl,
    })

    await expect(sms.send('+14155550123', 'code 123456')).rejects.toThrow()
  })
})

describe('ConsoleSms', () => {
  it('writes one log line holding the number and the code', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
        done()
      },
    })
    const sms = new ConsoleSms(pino({ level: 'info' }, stream))

    await sms.send('+14155550123', 'Your Parley code is 654321. It expires in 5 minutes.')

    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0] ?? '{}') as { msg: string; sms_to: string; level: number }
    expect(entry.sms_to).toBe('+14155550123')
    expect(entry.msg).toContain('+14155550123')
    expect(entry.msg).toContain('654321')
    expect(entry.level).toBe(30)
  })
})
