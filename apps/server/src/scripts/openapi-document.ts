import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../app.ts'
import { loadConfig } from '../config.ts'
import { buildDeps } from '../deps.ts'

/** Where the committed copy of the API description lives (`npm run openapi` writes it). */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../../docs/api/openapi.json', import.meta.url))

/**
 * The OpenAPI document exactly as the server serves it at /openapi.json, as formatted JSON text.
 * Built on a throwaway embedded store so it needs no configuration and touches no real data.
 */
export async function renderOpenApi(): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-openapi-'))
  try {
    const config = loadConfig({ PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'silent' })
    const deps = await buildDeps(config)
    try {
      const app = await buildApp(deps)
      await app.ready()
      const document = app.swagger()
      await app.close()
      return `${JSON.stringify(document, null, 2)}\n`
    } finally {
      await deps.close()
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}
