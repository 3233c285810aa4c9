import net from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends bytes as they are over a TCP connection and reads one HTTP answer: for requests that fetch()
 * or Fastify's inject() would refuse to build or would normalise (bad percent-encoding, an unknown
 * method, broken framing, a huge header). Resolves when the server closes the connection or the
 * answer is complete.
 */
export function rawHttp(url: string, request: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    let received = Buffer.alloc(0)
    let settled = false
    const finish = () => {
      if (settled) return
      const parsed = parse(received)
      if (!parsed) return
      settled = true
      socket.destroy()
      resolve(parsed)
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      finish()
    })
    socket.on('close', () => {
      finish()
      if (!settled) reject(new Error(`connection closed without a complete answer: ${received.toString()}`))
    })
    // The server may close while the request is still being written (e.g. a refused header).
    socket.on('error', () => {})
    socket.write(request)
  })
}

/** One complete HTTP/1.1 answer from the start of `data`, or null while it is incomplete. */
function parse(data: Buffer): RawResponse | null {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return null
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const rest = data.subarray(end + 4)
  if (headers['transfer-encoding'] === 'chunked') {
    const chunks: Buffer[] = []
    let offset = 0
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', offset)
      if (lineEnd < 0) return null
      const size = Number.parseInt(rest.subarray(offset, lineEnd).toString('latin1'), 16)
      if (size === 0) break
      if (rest.length < lineEnd + 2 + size + 2) return null
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size))
      offset = lineEnd + 2 + size + 2
    }
    return { status, headers, body: Buffer.concat(chunks).toString('utf8') }
  }
  const length = Number(headers['content-length'] ?? 0)
  if (rest.length < length) return null
  return { status, headers, body: rest.subarray(0, length).toString('utf8') }
}
