import net from 'node:net'

/**
 * The network a client address counts for in per-IP limits and caps: an IPv4 address (an IPv4-mapped
 * IPv6 one too) alone; an IPv6 address by its /64, the block one subscriber line or host is given —
 * otherwise one client rotates through 2^64 addresses and never meets a per-IP limit. Anything else
 * (no address) is taken as is.
 */
export function clientNetwork(address: string): string {
  const bare = (address.split('%')[0] ?? address).toLowerCase()
  if (!net.isIPv6(bare)) return address
  const [head = '', tail = ''] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const v4 = right.at(-1)?.includes('.') ? right.pop() : left.at(-1)?.includes('.') ? left.pop() : undefined
  const width = v4 ? 6 : 8
  const groups = [...left, ...Array<string>(width - left.length - right.length).fill('0'), ...right].map(
    (group) => group.replace(/^0+(?=.)/, ''),
  )
  if (v4 && groups.join(':') === '0:0:0:0:0:ffff') return v4
  return `${groups.slice(0, 4).join(':')}::/64`
}
