import type { Chat } from '@parley/protocol'
import { useStore } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { formatLastSeen } from '../../ui/format.ts'

/**
 * "online", "last seen today 14:05", or for a group its size. Nothing when the person's privacy hides
 * it (the server then sends neither online nor a last-seen time).
 */
export function PresenceLine({ chat }: { chat: Chat }) {
  const presence = useStore((state) => (chat.participant ? state.presence[chat.participant.id] : undefined))
  const text =
    chat.type === 'group'
      ? strings.presence.members(chat.participants_count)
      : presence?.online
        ? strings.presence.online
        : presence?.lastSeenAt
          ? strings.presence.lastSeen(formatLastSeen(presence.lastSeenAt))
          : ''
  if (!text) return null
  return <p className={presence?.online ? 'presence accent' : 'presence muted'}>{text}</p>
}
