import path from 'node:path'
import { ConfigError, loadConfig } from './config.ts'
import { openPostgres, openSqlite } from './store/db.ts'
import { migrateToLatest } from './store/migrate.ts'

// `npm run migrate`: the same migrations the server applies on start, for deploys that migrate first.
try {
  const config = loadConfig()
  const store = config.databaseUrl
    ? openPostgres(config.databaseUrl)
    : openSqlite(path.join(config.dataDir, 'parley.db'))
  const applied = await migrateToLatest(store)
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date')
  await store.close()
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exit(1)
}
