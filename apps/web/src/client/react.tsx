import { createContext, type ReactNode, useContext, useSyncExternalStore } from 'react'
import type { ParleyClient } from './parley.ts'
import type { State } from './store.ts'

const ClientContext = createContext<ParleyClient | null>(null)

export function ClientProvider({ client, children }: { client: ParleyClient; children: ReactNode }) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>
}

/** The client layer: views call its methods (never fetch or sockets themselves). */
export function useClient(): ParleyClient {
  const client = useContext(ClientContext)
  if (!client) throw new Error('useClient outside <ClientProvider>')
  return client
}

/**
 * Reads part of the store; the view re-renders when that part changes. The selector must answer a
 * value from the state (or a primitive), not a new object per call.
 */
export function useStore<T>(selector: (state: State) => T): T {
  const { store } = useClient()
  return useSyncExternalStore(store.subscribe, () => selector(store.getState()))
}
