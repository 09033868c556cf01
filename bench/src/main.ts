// Why this file exists: `npm run bench` — runs every scenario at full size, prints the table and
// writes bench-results.json (in the working directory). `--only=per-call,memory` runs a subset;
// `--smoke` runs everything at tiny N (what the smoke test does); `--markdown=<results.json>`
// prints the tables of an earlier run as markdown (for bench/README.md) and runs nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FULL, runBench, SCENARIOS, SMOKE, type BenchResult, type Scenario } from './run.ts';
import { markdownTables, textTable } from './table.ts';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(`Usage: npm run bench -- [--only=${SCENARIOS.join(',')}] [--smoke] [--out=bench-results.json] [--markdown=bench-results.json]`);
  process.exit(0);
}
const markdownFrom = args.find((a) => a.startsWith('--markdown='))?.slice('--markdown='.length);
if (markdownFrom) {
  const result = JSON.parse(readFileSync(markdownFrom, 'utf8')) as BenchResult;
  console.log(`${result.machine.node} · ${result.machine.cpu} · ${result.machine.cores} cores · ${result.machine.platform} · ${result.startedAt} · ${result.durationS.toFixed(0)} s`);
  console.log(markdownTables(result.rows));
  process.exit(0);
}
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',') as Scenario[] | undefined;
for (const name of only ?? []) if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.join(', ')}`);
const out = resolve(args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? 'bench-results.json');
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') console.warn('[bench] run with --expose-gc for the memory rows (npm run bench does)');

const result = await runBench(args.includes('--smoke') ? SMOKE : FULL, {
  ...(only ? { only } : {}),
  onRows: (scenario, rows, seconds) => console.log(`${textTable(rows)}\n[${scenario}: ${seconds.toFixed(1)} s]`),
});
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
const judged = result.rows.filter((r) => r.pass !== undefined);
const missed = judged.filter((r) => r.pass === false);
console.log(`\n${result.machine.node} · ${result.machine.cpu} · ${result.machine.cores} cores · ${result.durationS.toFixed(0)} s`);
console.log(`targets: ${judged.length - missed.length} PASS, ${missed.length} MISS${missed.length ? ` (${missed.map((r) => r.id).join(', ')})` : ''}`);
console.log(`wrote ${out}`);
