import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app/App.tsx'
import { ParleyClient } from './client/parley.ts'
import { ClientProvider } from './client/react.tsx'
import { showNotification } from './ui/notifications.ts'
import { directory } from './ui/system-text.ts'
import './styles.css'

const client = new ParleyClient()
client.notify = showNotification
// System messages name people by id: keep the names they are told in step with the store.
client.store.subscribe(() => {
  directory.people = client.store.state.people
  directory.meId = client.store.state.me?.id ?? null
})

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
createRoot(root).render(
  <StrictMode>
    <ClientProvider client={client}>
      <App />
    </ClientProvider>
  </StrictMode>,
)
