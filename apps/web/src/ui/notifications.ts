import type { Chat, Message } from '@parley/protocol'
import { navigate } from '../app/router.ts'
import { chatTitle, summary } from '../features/chats/ChatList.tsx'

export type NotificationState = NotificationPermission | 'unsupported'

export function notificationState(): NotificationState {
  return 'Notification' in window ? Notification.permission : 'unsupported'
}

/** Asks the browser for permission: call it from a click (browsers ignore it otherwise). */
export async function requestNotifications(): Promise<NotificationState> {
  if (!('Notification' in window)) return 'unsupported'
  return Notification.requestPermission()
}

/** A desktop notification for a new message; clicking it brings the tab forward at that chat. */
export function showNotification(chat: Chat, message: Message) {
  if (notificationState() !== 'granted') return
  const title = chat.type === 'group' ? `${message.sender?.name ?? ''} · ${chatTitle(chat)}` : chatTitle(chat)
  // One notification per chat: a newer message replaces the older one instead of stacking.
  const notification = new Notification(title, { body: summary(message), tag: `chat-${chat.id}` })
  notification.onclick = () => {
    window.focus()
    navigate({ name: 'chat', chatId: chat.id })
    notification.close()
  }
}
