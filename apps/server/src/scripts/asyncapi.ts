import fs from 'node:fs'
import path from 'node:path'
import { ASYNCAPI_FILE, renderAsyncApi } from './asyncapi-document.ts'

// `npm run asyncapi`: regenerates docs/api/asyncapi.json from the protocol schemas (a test checks it is current).
fs.mkdirSync(path.dirname(ASYNCAPI_FILE), { recursive: true })
fs.writeFileSync(ASYNCAPI_FILE, renderAsyncApi())
console.log(`wrote ${path.relative(process.cwd(), ASYNCAPI_FILE)}`)
