import type { Message } from '@parley/protocol'
import { type KeyboardEvent, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { createPortal } from 'react-dom'
import { useClient } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import type { MessageHandlers } from './MessageBubble.tsx'

/** The quick reactions offered in a message's menu. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const

const MENU_WIDTH = 248
const EDGE = 8

/**
 * A message's actions as an ARIA menu: the quick reactions, then reply, edit, forward and delete.
 * Rendered into <body> (position: fixed) so the scrolling, virtualised list cannot clip it. Arrow keys,
 * Home and End move between items; Esc closes it and gives the focus back to its button; Tab, a click
 * outside or the button leaving the screen close it.
 */
export function MessageMenu({
  message,
  mine,
  meId,
  anchor,
  handlers,
  onClose,
}: {
  message: Message
  mine: boolean
  meId: number
  anchor: HTMLElement
  handlers: MessageHandlers
  onClose: (refocus: boolean) => void
}) {
  const client = useClient()
  const menu = useRef<HTMLDivElement>(null)
  const [position, setPosition] = useState<{ top: number; left: number } | null>(null)

  // Below the button when it fits, else above; kept inside the viewport; follows the list's scroll.
  useLayoutEffect(() => {
    const place = () => {
      if (!anchor.isConnected) return onClose(false)
      const rect = anchor.getBoundingClientRect()
      const height = menu.current?.offsetHeight ?? 0
      const below = rect.bottom + 4
      const top = below + height + EDGE <= window.innerHeight ? below : Math.max(EDGE, rect.top - height - 4)
      // It opens away from its bubble: leftwards beside my messages (their button is on the left).
      const preferred = mine ? rect.right - MENU_WIDTH : rect.left
      const left = Math.min(Math.max(EDGE, preferred), window.innerWidth - MENU_WIDTH - EDGE)
      setPosition({ top, left: Math.max(EDGE, left) })
    }
    place()
    window.addEventListener('scroll', place, true)
    window.addEventListener('resize', place)
    return () => {
      window.removeEventListener('scroll', place, true)
      window.removeEventListener('resize', place)
    }
  }, [anchor, onClose, mine])

  useEffect(() => {
    menu.current?.querySelector<HTMLElement>('[role^="menuitem"]')?.focus({ preventScroll: true })
    const outside = (event: PointerEvent) => {
      const target = event.target as Node
      if (!menu.current?.contains(target) && !anchor.contains(target)) onClose(false)
    }
    document.addEventListener('pointerdown', outside, true)
    return () => document.removeEventListener('pointerdown', outside, true)
  }, [anchor, onClose])

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? [])]
    const index = items.indexOf(document.activeElement as HTMLElement)
    const go = (next: number) => {
      event.preventDefault()
      items[(next + items.length) % items.length]?.focus()
    }
    if (event.key === 'Escape') {
      // Handled here: the conversation's own Esc (leave reply mode) must not fire too.
      event.preventDefault()
      event.stopPropagation()
      onClose(true)
    } else if (event.key === 'Tab') onClose(false)
    else if (event.key === 'ArrowDown' || event.key === 'ArrowRight') go(index + 1)
    else if (event.key === 'ArrowUp' || event.key === 'ArrowLeft') go(index - 1)
    else if (event.key === 'Home') go(0)
    else if (event.key === 'End') go(items.length - 1)
  }

  /** Runs an action; `refocus` gives the focus back to the menu's button (the action opens nothing). */
  const act =
    (action: () => unknown, refocus = false) =>
    () => {
      onClose(refocus)
      void Promise.resolve(action()).catch(() => handlers.onNotice(strings.messageActions.failed))
    }
  const reacted = (emoji: string) =>
    message.reactions.some(
      (reaction) => reaction.emoji === emoji && reaction.users.some((user) => user.id === meId),
    )
  const live = !message.deleted

  return createPortal(
    <div
      ref={menu}
      role="menu"
      aria-label={strings.messageActions.actions}
      className="message-menu"
      style={{ top: position?.top ?? -9999, left: position?.left ?? -9999, width: MENU_WIDTH }}
      onKeyDown={onKeyDown}
    >
      {live && (
        <fieldset aria-label={strings.messageActions.react} className="menu-reactions">
          {QUICK_REACTIONS.map((emoji) => (
            <button
              key={emoji}
              type="button"
              role="menuitemcheckbox"
              aria-checked={reacted(emoji)}
              aria-label={strings.messageActions.reactWith(emoji)}
              tabIndex={-1}
              className="menu-reaction"
              onClick={act(() => client.toggleReaction(message, emoji), true)}
            >
              {emoji}
            </button>
          ))}
        </fieldset>
      )}
      {live && (
        <MenuItem onClick={act(() => handlers.onReply(message))}>{strings.messageActions.reply}</MenuItem>
      )}
      {live && mine && message.message_type === 'text' && (
        <MenuItem onClick={act(() => handlers.onEdit(message))}>{strings.messageActions.edit}</MenuItem>
      )}
      {live && (
        <MenuItem onClick={act(() => handlers.onForward(message))}>{strings.messageActions.forward}</MenuItem>
      )}
      <MenuItem onClick={act(() => client.deleteMessage(message.chat_id, message.id, 'me'), true)}>
        {strings.messageActions.deleteForMe}
      </MenuItem>
      {live && mine && (
        <MenuItem
          danger
          onClick={act(() => client.deleteMessage(message.chat_id, message.id, 'everyone'), true)}
        >
          {strings.messageActions.deleteForEveryone}
        </MenuItem>
      )}
    </div>,
    document.body,
  )
}

function MenuItem({
  children,
  onClick,
  danger = false,
}: {
  children: string
  onClick: () => void
  danger?: boolean
}) {
  return (
    <button
      type="button"
      role="menuitem"
      tabIndex={-1}
      className={danger ? 'menu-item danger' : 'menu-item'}
      onClick={onClick}
    >
      {children}
    </button>
  )
}
