/**
 * `npm run bench -- [options]`: the load generator (see bench/README.md). Progress and the human
 * summary go to stderr; the last line on stdout is the result as one JSON object.
 */
import { runBench } from './bench.ts'
import { parseOptions, USAGE } from './options.ts'

const log = (line: string) => process.stderr.write(`${line}\n`)

let options: ReturnType<typeof parseOptions>
try {
  options = parseOptions(process.argv.slice(2))
} catch (error) {
  log(`${(error as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
if (options === 'help') {
  log(USAGE)
  process.exit(0)
}
try {
  const result = await runBench(options, log)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`)
  process.exit(1)
}
