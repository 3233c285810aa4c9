// `npm start` runs this first (prestart): builds apps/web/dist when it is missing or older than any
// source it is made from, so the server always serves the current app. When the build is current it
// only compares modification times (a few milliseconds). See docs/decisions/0012-web-app-build.md.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = path.resolve(web, '../..')
const built = path.join(web, 'dist', 'index.html')
const sources = [
  path.join(web, 'src'),
  path.join(web, 'index.html'),
  path.join(web, 'vite.config.ts'),
  path.join(web, 'package.json'),
  path.join(root, 'packages', 'sdk', 'src'),
  path.join(root, 'packages', 'protocol', 'src'),
]

function newest(entry) {
  let stat
  try {
    stat = fs.statSync(entry)
  } catch {
    return 0
  }
  if (!stat.isDirectory()) return stat.mtimeMs
  let max = stat.mtimeMs
  for (const name of fs.readdirSync(entry)) max = Math.max(max, newest(path.join(entry, name)))
  return max
}

const builtAt = fs.existsSync(built) ? fs.statSync(built).mtimeMs : 0
const changedAt = Math.max(...sources.map(newest))
if (builtAt === 0 || changedAt > builtAt) {
  console.log(builtAt === 0 ? 'web app not built: building it' : 'web app sources changed: rebuilding')
  // A production build whatever runs this (vitest sets NODE_ENV=test, which would bundle React's
  // development build).
  const result = spawnSync('npm', ['run', 'build', '-w', '@parley/web'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
