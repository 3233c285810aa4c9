import type { Message } from '@parley/protocol'
import { useStore } from '../../client/react.tsx'
import { readBy } from '../../client/shell.ts'
import { strings } from '../../strings.ts'

/**
 * "Read by N of M" under my own message in a group (nothing elsewhere). For the conversation's bubble
 * meta: `<ReadBy message={message} />`.
 */
export function ReadBy({ message }: { message: Message }) {
  const reads = useStore((state) => readBy(state, message))
  if (!reads) return null
  return <span className="read-by">{strings.list.readBy(reads.read, reads.of)}</span>
}
