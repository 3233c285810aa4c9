import { defineConfig } from 'vitest/config'

const ci = process.env.CI === 'true'

export default defineConfig({
  test: {
    include: [
      'apps/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      // Browser tests of the web client (Chromium + playwright-core): apps/web/e2e/harness.ts.
      'apps/*/e2e/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'bench/src/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    allowOnly: !ci,
    // CI reads this file to fail the run on any skipped or todo test (.ci/run).
    reporters: ci ? ['default', 'json'] : ['default'],
    outputFile: ci ? { json: '.tmp/test-results.json' } : {},
  },
})
