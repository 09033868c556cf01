// Why this file exists: the README's example is the first mesh code a user copies; it is run here,
// as written, against the fake model, so an example that no longer works fails the suite.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeModelServer, type FakeModelServer } from '@sluice/test/fake-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = join(root, '.readme-example');

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer({ script: (request) => ({ text: `Answer ${request.id}.`, usage: { inputTokens: 10, outputTokens: 3 } }) });
  await mkdir(scratch, { recursive: true });
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('README example (examples/mesh)', () => {
  it('runs as written: three nodes, every call seen by the one plugin, each node completed', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const source = /```ts\n\/\/ example: mesh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(source).toBeDefined();
    const file = join(scratch, 'mesh.ts');
    await writeFile(file, source!);
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=sluice:source', file], {
      cwd: root,
      env: { PATH: process.env.PATH, OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: 'sk-readme-example-key', OPENAI_AGENTS_DISABLE_TRACING: '1' },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines.filter((line) => /^call of (researcher|critic|writer): completed$/.test(line)).sort()).toEqual([
      'call of critic: completed',
      'call of researcher: completed',
      'call of writer: completed',
    ]);
    for (const node of ['researcher', 'critic', 'writer']) expect(lines).toContain(`${node}: completed, 13 tokens`);
    expect(lines.indexOf('writer: completed, 13 tokens')).toBeGreaterThan(Math.max(lines.indexOf('researcher: completed, 13 tokens'), lines.indexOf('critic: completed, 13 tokens')));
    expect(lines.at(-1)).toBe('graph: completed');
    expect(server.requests.filter((request) => request.api !== 'other')).toHaveLength(3);
  });
});
