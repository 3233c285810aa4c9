import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/** Where `npm run dev` sends /api and /ws: a server started with `npm start` (PARLEY_DEV_SERVER to change). */
const target = process.env.PARLEY_DEV_SERVER ?? 'http://localhost:3000'

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP allows scripts from 'self' only: keep every script a file.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: true },
      '/ws': {
        target,
        ws: true,
        changeOrigin: true,
        // The gateway accepts browser sockets from its own origin only: present the server's.
        configure: (proxy) => {
          proxy.on('proxyReqWs', (request) => request.setHeader('origin', target))
        },
      },
    },
  },
})
