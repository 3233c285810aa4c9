import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app/App.tsx'
import { ParleyClient } from './client/parley.ts'
import { ClientProvider } from './client/react.tsx'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
createRoot(root).render(
  <StrictMode>
    <ClientProvider client={new ParleyClient()}>
      <App />
    </ClientProvider>
  </StrictMode>,
)
