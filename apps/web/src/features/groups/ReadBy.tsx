import type { Message } from '@parley/protocol'
import { useStore } from '../../client/react.tsx'
import { readByLabel } from '../../client/shell.ts'
import { readByText } from '../chats/ChatList.tsx'

/**
 * "Read by N of M" under my own message in a group (nothing elsewhere). For the conversation's bubble
 * meta: `<ReadBy message={message} />`.
 */
export function ReadBy({ message }: { message: Message }) {
  const reads = useStore((state) => readByLabel(state, message))
  if (!reads) return null
  return <span className="read-by">{readByText(reads)}</span>
}
