import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OPENAPI_FILE, renderOpenApi } from '../src/scripts/openapi-document.ts'

describe('docs/api/openapi.json', () => {
  it('is what the server generates from its route schemas', async () => {
    const committed = fs.existsSync(OPENAPI_FILE) ? fs.readFileSync(OPENAPI_FILE, 'utf8') : ''
    const generated = await renderOpenApi()
    expect(committed, 'docs/api/openapi.json is out of date: run npm run openapi').toBe(generated)
  })
})
