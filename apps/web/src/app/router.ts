import { useSyncExternalStore } from 'react'

/**
 * The app's routes: `/` (chat list), `/chats/:id` (a conversation) and `/chats/:id/messages/:mid`
 * (a conversation opened at one message, highlighted: deep links, search results).
 */
export type Route = { name: 'chats' } | { name: 'chat'; chatId: number; messageId?: number }

const listeners = new Set<() => void>()
const notify = () => {
  for (const listener of [...listeners]) listener()
}
window.addEventListener('popstate', notify)

export function parseRoute(pathname: string): Route {
  const match = /^\/chats\/(\d{1,15})(?:\/messages\/(\d{1,15}))?\/?$/.exec(pathname)
  if (!match) return { name: 'chats' }
  return match[2] === undefined
    ? { name: 'chat', chatId: Number(match[1]) }
    : { name: 'chat', chatId: Number(match[1]), messageId: Number(match[2]) }
}

export function pathOf(route: Route): string {
  if (route.name !== 'chat') return '/'
  return route.messageId === undefined
    ? `/chats/${route.chatId}`
    : `/chats/${route.chatId}/messages/${route.messageId}`
}

export function navigate(route: Route, options: { replace?: boolean } = {}) {
  const path = pathOf(route)
  if (path === window.location.pathname) return
  if (options.replace) window.history.replaceState(null, '', path)
  else window.history.pushState(null, '', path)
  notify()
}

const subscribe = (listener: () => void) => {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** The current route; re-renders on navigate() and on the browser's back/forward. */
export function useRoute(): Route {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname)
  return parseRoute(pathname)
}
