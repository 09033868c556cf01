// One vitest run for the whole workspace: `npm test` prints one summary, and workspace packages
// resolve to their TypeScript sources through the `sluice:source` export condition.
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

const conditions = ['sluice:source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['core/src/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'test/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'bench/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    setupFiles: ['./test/src/setup-env.ts'],
    reporters: ['default', './test/src/totals-reporter.ts'],
  },
});
