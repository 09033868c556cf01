// Why this file exists: `npm start` is the first thing a newcomer runs; this runs it as they would
// (a child process on the repo's Node) and checks that it shows a streamed answer with a tool call.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

function demo(...args: string[]) {
  return run(process.execPath, ['--conditions=sluice:source', main, ...args], {
    env: { PATH: process.env.PATH, OPENAI_API_KEY: 'sk-should-not-be-used' },
    timeout: 60_000,
  });
}

describe('npm start (examples/agents-run)', () => {
  it.each(['responses', 'chat_completions'])('streams an answer with a tool call through the pipeline (%s)', async (api) => {
    const { stdout } = await demo('--delay', '0', '--api', api, '--city', 'Lisbon');
    const lines = stdout.split('\n');
    const at = (needle: string) => lines.findIndex((line) => line.includes(needle));
    expect(at('tool call → get_weather({"city":"Lisbon"})')).toBeGreaterThan(0);
    expect(at('tool result ← Sunny, 22°C, wind 12 km/h W in Lisbon')).toBeGreaterThan(at('tool call →'));
    expect(at('answer: It is sunny and 22°C in Lisbon')).toBeGreaterThan(at('tool result ←'));
    for (const step of ['[call 1] queued', '[call 1] authorized', '[call 1] streaming', '[call 1] reported   completed', '[call 2] reported   completed']) {
      expect(at(step)).toBeGreaterThan(-1);
    }
    expect(at('[call 1] reported')).toBeGreaterThan(at('[call 1] streaming'));
    expect(stdout).toContain('Done: 2 model calls');
    expect(stdout).not.toContain('sk-should-not-be-used');
  });

  it('--help lists the options; a bad option value is a clear error', async () => {
    const { stdout } = await demo('--help');
    expect(stdout).toContain('Usage: npm start -- [options]');
    expect(stdout).toContain('--api <name>');
    const failed = await demo('--api', 'completions').catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('--api must be "responses" or "chat_completions"') });
  });
});
