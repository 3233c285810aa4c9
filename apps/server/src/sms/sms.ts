/** Sends a text to an E.164 number. Drivers: console (development) and twilio (HTTP provider). */
export interface SmsSender {
  send(to: string, body: string): Promise<void>
}
