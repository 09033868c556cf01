// Why this file exists: the README's examples are the first code a user copies; each one is run
// here, as written, against the fake model, so an example that no longer works fails the suite.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeModelServer, toolLoopScript, type FakeModelServer } from './fake-model-server.ts';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = join(repo, 'test', '.readme-examples');

async function readmeExamples(): Promise<Map<string, string>> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const examples = new Map<string, string>();
  for (const match of readme.matchAll(/```ts\n\/\/ example: ([\w-]+)\n([\s\S]*?)```/g)) examples.set(match[1]!, match[2]!);
  return examples;
}

let server: FakeModelServer;
let examples: Map<string, string>;
beforeAll(async () => {
  server = await startFakeModelServer();
  examples = await readmeExamples();
  await mkdir(scratch, { recursive: true });
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.setScript(toolLoopScript({ toolCalls: [[{ name: 'get_weather', arguments: '{"city":"Paris"}' }]], finalText: 'Sunny in Paris today.' }));
});

async function runExample(name: string): Promise<string> {
  const source = examples.get(name);
  if (!source) throw new Error(`README has no example "${name}"`);
  const file = join(scratch, `${name}.ts`);
  await writeFile(file, source);
  const { stdout } = await run(process.execPath, ['--conditions=sluice:source', file], {
    cwd: repo,
    env: {
      PATH: process.env.PATH,
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: 'sk-readme-example-key',
      // Belt and braces: the agents example also disables tracing itself.
      OPENAI_AGENTS_DISABLE_TRACING: '1',
    },
    timeout: 60_000,
  });
  return stdout;
}

describe('README examples', () => {
  it('has the three integration examples', () => {
    expect([...examples.keys()]).toEqual(['agents', 'openai', 'ai-sdk']);
  });

  it('typecheck under the repo\'s strict settings', async () => {
    const dir = join(scratch, 'typecheck');
    await mkdir(dir, { recursive: true });
    for (const [name, source] of examples) await writeFile(join(dir, `${name}.ts`), source);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['*.ts'] }));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: repo }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  });

  it('agents: a streamed tool run, two calls reported with the tenant scope', async () => {
    const out = await runExample('agents');
    expect(out).toContain('Sunny in Paris today.');
    expect(out.match(/\[t_1\] agent: completed/g)).toHaveLength(2);
    expect(server.requests.map((r) => r.api)).toEqual(['responses', 'responses']);
  });

  it('openai: chat stream and responses through the pipeline; a suspended tenant is denied with no request', async () => {
    server.setScript([{ text: 'Hello there.' }, { text: 'Hello again.' }]);
    const out = await runExample('openai');
    expect(out).toContain('Hello there.');
    expect(out).toContain('Hello again.');
    expect(out).toContain('[chat_completions] completed');
    expect(out).toContain('[responses] completed');
    expect(out).toContain('denied before the model was asked: tenant_suspended');
    expect(server.requests).toHaveLength(2);
  });

  it('ai-sdk: a tool loop through the relay-aware model, then the middleware', async () => {
    server.setScript([
      { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { text: 'Sunny in Paris today.' },
      { text: 'Hi from the wrapped model.' },
    ]);
    const out = await runExample('ai-sdk');
    expect(out).toContain('Sunny in Paris today.');
    expect(out).toContain('Hi from the wrapped model.');
    expect(out).toContain('step completed (tool_calls');
    expect(out.match(/step completed \(stop/g)).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
  });
});
