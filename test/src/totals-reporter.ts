// Why this file exists: CI reads one plain closing line, `N passed, N failed` (vitest's own summary
// is not read), so the suite prints its totals itself — also when tests failed or a file crashed.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

type RunEnd = NonNullable<Reporter['onTestRunEnd']>;

/** Prints `N passed, N failed, N skipped` as the last line of a vitest run. */
export default class TotalsReporter implements Reporter {
  onTestRunEnd: RunEnd = (testModules: ReadonlyArray<TestModule>, unhandledErrors) => {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let tests = 0;
      for (const test of module.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A file that failed to load (syntax error, failing hook) has no passing tests but must count.
      if (module.state() === 'failed' && tests === 0) failed++;
    }
    failed += unhandledErrors.length;
    const line = `${passed} passed, ${failed} failed, ${skipped} skipped`;
    process.stdout.write(`\n${line}\n`);
    // `.ci/run` prints this after npm's own failure lines, so the totals stay the last line.
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/totals.txt', `${line}\n`);
  };
}
