import fs from 'node:fs'
import path from 'node:path'
import { OPENAPI_FILE, renderOpenApi } from './openapi-document.ts'

// `npm run openapi`: regenerates docs/api/openapi.json from the route schemas (a test checks it is current).
const text = await renderOpenApi()
fs.mkdirSync(path.dirname(OPENAPI_FILE), { recursive: true })
fs.writeFileSync(OPENAPI_FILE, text)
console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`)
