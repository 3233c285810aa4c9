/**
 * A child process of the idle scenario: holds a slice of the connections, since one process may hold
 * only as many sockets as its open-file limit allows. Driven by IPC messages from idle.ts.
 */
import { ParleySocket } from '@parley/sdk'
import WebSocket from 'ws'
import { eachLimited } from './population.ts'

export interface IdleDevice {
  url: string
  accessToken: string
}
export type ToWorker = { type: 'start'; devices: IdleDevice[] } | { type: 'stop' }
export type FromWorker =
  | { type: 'progress'; connected: number }
  | { type: 'ready'; connected: number; errors: Record<string, number> }

const send = (message: FromWorker) => process.send?.(message)
const sockets: ParleySocket[] = []

process.on('message', (message: ToWorker) => {
  if (message.type === 'stop') {
    for (const socket of sockets) socket.close()
    process.exit(0)
  }
  void connect(message.devices)
})

async function connect(devices: IdleDevice[]) {
  const errors: Record<string, number> = {}
  let connected = 0
  await eachLimited(devices, 64, async (device) => {
    const socket = new ParleySocket({ WebSocket, since: 0, getToken: () => device.accessToken })
    sockets.push(socket)
    try {
      await socket.connect(`${device.url.replace(/^http/, 'ws')}/ws`)
      connected++
      if (connected % 1000 === 0) send({ type: 'progress', connected })
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message
      errors[code] = (errors[code] ?? 0) + 1
    }
  })
  send({ type: 'ready', connected, errors })
}
