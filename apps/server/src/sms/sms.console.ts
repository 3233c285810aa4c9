import type { Logger } from 'pino'
import type { SmsSender } from './sms.ts'

/**
 * Development driver: writes one log line with the number and the text (which holds the code).
 * config.ts refuses it when NODE_ENV=production.
 */
export class ConsoleSms implements SmsSender {
  constructor(private readonly log: Logger) {}

  async send(to: string, body: string): Promise<void> {
    this.log.info({ sms_to: to }, `SMS to ${to}: ${body}`)
  }
}
