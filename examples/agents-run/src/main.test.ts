// Why this file exists: `npm start` is the first thing a newcomer runs; this runs it as they would
// (a child process on the repo's Node) and checks that it shows the whole mission working together.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

function demo(...args: string[]) {
  // No OPENAI_API_KEY or OTEL endpoint: the embedded defaults.
  return run(process.execPath, ['--conditions=sluice:source', main, ...args], { env: { PATH: process.env.PATH }, timeout: 60_000 });
}

describe('npm start (examples/agents-run)', () => {
  it.each(['responses', 'chat_completions'])('shows the streamed answer, both tools, every call lifecycle, the audit, the trace, the follow-up and the denial (%s)', async (api) => {
    const { stdout } = await demo('--delay', '0', '--api', api, '--city', 'Lisbon');
    const lines = stdout.split('\n');
    const at = (needle: string, from = 0) => lines.findIndex((line, i) => i >= from && line.includes(needle));
    // Part 1: two tools, three calls, each through the whole lifecycle.
    expect(at('tool call   → get_weather({"city":"Lisbon"})')).toBeGreaterThan(0);
    expect(at('tool result ← Sunny, 22°C, wind 12 km/h W in Lisbon')).toBeGreaterThan(at('tool call   → get_weather'));
    expect(at('tool call   → get_local_time({"city":"Lisbon"})')).toBeGreaterThan(at('tool result ← Sunny'));
    expect(at('answer: It is sunny and 22°C in Lisbon')).toBeGreaterThan(at('tool result ← 14:05 in Lisbon'));
    for (const n of [1, 2, 3]) {
      expect(stdout).toMatch(new RegExp(`\\[call ${n}\\] queued \\(agents/${api}, slot agent\\) → authorized \\(ex_[^)]+\\) → streaming`));
      expect(stdout).toMatch(new RegExp(`\\[call ${n}\\] reported completed · 412 in \\(256 cached\\) / 38 out tokens · \\$0\\.000360`));
    }
    // The audit after part 1 has three completed rows with the priced cost.
    const audit = at('Vela audit');
    expect(lines.slice(audit, audit + 6).filter((l) => /ex_\S+\s+agent\s+gpt-fake\s+allow\s+completed\s+412\s+38\s+\$0\.000360/.test(l))).toHaveLength(3);
    // The trace tree: one workflow, one agent span, three chat spans and two tools under it.
    const trace = at('Trace');
    const tree = lines.slice(trace + 1, trace + 8).join('\n');
    expect(tree).toMatch(/Sluice demo/);
    expect(tree.match(/chat gpt-fake/g)).toHaveLength(3);
    expect(tree).toMatch(/execute_tool get_weather[\s\S]*execute_tool get_local_time/);
    // Part 2: the follow-up goes through the pipeline as call 4.
    expect(at('answer: Tomorrow Lisbon should stay dry', at('▸ 2.'))).toBeGreaterThan(at('▸ 2.'));
    expect(stdout).toMatch(/\[call 4\] reported completed · 96 in \/ 17 out tokens/);
    // Part 3: revoked → denied before the model is asked.
    expect(stdout).toMatch(/\[call 5\] queued .* → denied before the model was asked \(delegation_revoked/);
    expect(stdout).toContain('ExecutionDeniedError: kind=deny reason=delegation_revoked');
    expect(stdout).toContain('the model received 0 requests for it');
    expect(stdout).toMatch(/ex_\S+\s+agent\s+gpt-fake\s+deny \(delegation_revoked\)\s+denied/);
    expect(stdout).toContain('Done: 5 model calls through the pipeline.');
  });

  it('--help lists the options; a bad option value is a clear error', async () => {
    const { stdout } = await demo('--help');
    expect(stdout).toContain('Usage: npm start -- [options]');
    expect(stdout).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    const failed = await demo('--api', 'completions').catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('--api must be "responses" or "chat_completions"') });
  });
});
