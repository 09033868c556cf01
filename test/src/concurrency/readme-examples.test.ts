// Why this file exists: the examples in plugins/concurrency/README.md are the first code a user
// copies; each one is typechecked under the repo's strict settings and run, as written, against the
// fake model (and a real redis-server for the Redis one), so an example that stops working fails.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../fake-model-server.ts';
import { findRedisServer, redisRequiredButMissing, redisTestsEnabled, startRedisServer, type TestRedisServer } from './redis-server.ts';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pluginDir = join(repo, 'plugins', 'concurrency');
const redisEnabled = redisTestsEnabled();

if (redisRequiredButMissing()) {
  it('redis-server is installed (required under CI=true: apt-get install redis-server)', () => {
    expect(findRedisServer(), 'redis-server binary').toBeDefined();
  });
}

describe('plugins/concurrency/README.md examples', () => {
  let server: FakeModelServer;
  let redis: TestRedisServer | undefined;
  /** Inside the package, so the examples resolve `@sluice/plugin-concurrency` like an app would. */
  let scratch: string;
  let examples: Map<string, string>;

  beforeAll(async () => {
    server = await startFakeModelServer();
    if (redisEnabled) redis = await startRedisServer();
    scratch = await mkdtemp(join(pluginDir, '.readme-examples-'));
    const readme = await readFile(join(pluginDir, 'README.md'), 'utf8');
    examples = new Map([...readme.matchAll(/```ts\n\/\/ example: ([\w-]+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));
    for (const [name, source] of examples) await writeFile(join(scratch, `${name}.ts`), source);
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function runExample(name: string, env: Record<string, string>): Promise<string> {
    const { stdout } = await run(process.execPath, ['--conditions=sluice:source', join(scratch, `${name}.ts`)], {
      cwd: repo,
      env: { PATH: process.env.PATH, OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: 'sk-readme-example-key', ...env },
      timeout: 30_000,
    });
    return stdout;
  }

  it('has the in-process and the Redis example, and both typecheck', async () => {
    expect([...examples.keys()]).toEqual(['in-process', 'redis']);
    await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['*.ts'] }));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.json')], { cwd: repo }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  });

  it('in-process: three calls through the limiter, nothing left held', async () => {
    server.reset();
    const out = await runExample('in-process', {});
    expect(out.trim()).toBe('3 answers {"running":0,"queued":0,"keys":{"tenant:t_1":{"running":0,"queued":0}}}');
    expect(server.requests).toHaveLength(3);
  });

  it.skipIf(!redisEnabled)('redis: one call through the shared limiter, stats read from Redis', async () => {
    server.reset();
    const out = await runExample('redis', { REDIS_URL: redis!.url });
    expect(out.trim()).toBe('Hello from the fake model. {"running":0,"queued":0,"keys":{},"leasesLost":0}');
    expect(server.requests).toHaveLength(1);
  });
});
