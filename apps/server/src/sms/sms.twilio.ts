import type { SmsSender } from './sms.ts'

export interface TwilioOptions {
  accountSid: string
  authToken: string
  from: string
  baseUrl: string
}

/** Twilio's Messages API (also spoken by several other providers): form-encoded POST, basic auth. */
export class TwilioSms implements SmsSender {
  constructor(private readonly options: TwilioOptions) {}

  async send(to: string, body: string): Promise<void> {
    const { accountSid, authToken, from, baseUrl } = this.options
    const url = `${baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ To: to, From: from, Body: body }),
      signal: AbortSignal.timeout(10_000),
    })
    if (!response.ok) {
      const detail = await response.text().catch(() => '')
      throw new Error(`SMS provider answered ${response.status}: ${detail.slice(0, 200)}`)
    }
  }
}
