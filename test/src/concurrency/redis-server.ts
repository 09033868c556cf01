// Why this file exists: the Redis limiter is tested against a real `redis-server` (the plugin's own tests
// and the cross-process tests here), started per test file on a free port with persistence off and killed
// afterwards. Where none is installed the tests are skipped loudly — except under CI=true, where they fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The `redis-server` binary: `REDIS_SERVER_BIN`, `/usr/bin/redis-server`, or one on PATH. */
export function findRedisServer(): string | undefined {
  const candidates = [process.env.REDIS_SERVER_BIN, '/usr/bin/redis-server', ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server'))];
  return candidates.find((path): path is string => typeof path === 'string' && path !== '' && existsSync(path));
}

/**
 * Whether the Redis tests can run here. When they cannot, warns loudly; under CI=true the caller
 * must fail instead (see {@link redisRequiredButMissing}).
 */
export function redisTestsEnabled(): boolean {
  if (findRedisServer()) return true;
  console.warn(
    '\n!!! redis-server is not installed: the Redis limiter tests are ' + (process.env.CI === 'true' ? 'FAILING (CI=true).' : 'SKIPPED.') + '\n' +
      '!!! Install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`)\n' +
      '!!! or set REDIS_SERVER_BIN. Under CI=true these tests fail instead of skipping.\n',
  );
  return false;
}

/** True under CI=true without a `redis-server`: the test file then runs one test that fails. */
export function redisRequiredButMissing(): boolean {
  return process.env.CI === 'true' && !findRedisServer();
}

/** A running `redis-server`. */
export interface TestRedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` on a free port without persistence; resolves once it accepts connections. */
export async function startRedisServer(): Promise<TestRedisServer> {
  const binary = findRedisServer();
  if (!binary) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
