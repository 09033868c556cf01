// Why this file exists: the Redis limiter's reason to exist — one limit shared by separate
// processes — observed with real child processes, a real redis-server and one fake model server:
// the model never sees more than the global limit at once, and a process killed while holding
// slots frees them within the lease TTL so the others carry on.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisConcurrency, type RedisConcurrencyPlugin } from '@sluice/plugin-concurrency/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeModelServer, type FakeModelServer, type FakeTurn, type RecordedRequest } from '../fake-model-server.ts';
import { findRedisServer, redisRequiredButMissing, redisTestsEnabled, startRedisServer, type TestRedisServer } from './redis-server.ts';
import type { WorkerMessage } from './redis-worker.ts';

const WORKER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'redis-worker.ts');
const GLOBAL_LIMIT = 4;
const enabled = redisTestsEnabled();

if (redisRequiredButMissing()) {
  it('redis-server is installed (required under CI=true: apt-get install redis-server)', () => {
    expect(findRedisServer(), 'redis-server binary').toBeDefined();
  });
}

/** A worker process and what it said. */
interface Worker {
  name: string;
  child: ChildProcess;
  messages: WorkerMessage[];
  stderr: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the texts of its calls, or rejects with what went wrong. */
  finished: Promise<string[]>;
}

function labelOf(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ content?: unknown }> };
  return String(body.messages?.[0]?.content ?? '');
}

describe.skipIf(!enabled)('redisConcurrency() across processes', () => {
  let redis: TestRedisServer;
  let model: FakeModelServer;
  let observer: RedisConcurrencyPlugin | undefined;
  let workers: Worker[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    model = await startFakeModelServer();
  });
  afterAll(async () => {
    await model?.close();
    await redis?.stop();
  });
  afterEach(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    workers = [];
    await observer?.close();
    observer = undefined;
    model.reset();
  });

  function spawnWorker(name: string, prefix: string, calls: number, leaseTtlMs: number): Worker {
    const child = spawn(process.execPath, ['--conditions=sluice:source', WORKER_SCRIPT], {
      env: {
        PATH: process.env.PATH,
        WORKER: name,
        REDIS_URL: redis.url,
        PREFIX: prefix,
        GLOBAL_LIMIT: String(GLOBAL_LIMIT),
        LEASE_TTL_MS: String(leaseTtlMs),
        CALLS: String(calls),
        MODEL_BASE_URL: model.baseURL,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const messages: WorkerMessage[] = [];
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => void stderr.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const finished = new Promise<string[]>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        messages.push(message);
        if (message.type === 'finished') resolve(message.texts);
        if (message.type === 'failed') reject(new Error(`worker ${name}: ${message.error}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`worker ${name} exited (${code ?? signal}) before finishing:\n${stderr.join('')}`)));
    });
    finished.catch(() => undefined); // awaited by the tests that expect it to finish
    const worker: Worker = { name, child, messages, stderr, exited, finished };
    workers.push(worker);
    return worker;
  }

  /** A limiter in the test process used only to read the shared state. */
  function observe(prefix: string): RedisConcurrencyPlugin {
    observer = redisConcurrency({ redis: redis.url, prefix, global: { concurrency: GLOBAL_LIMIT } });
    return observer;
  }

  it('3 processes share a global limit of 4: the model never has more than 4 in flight, and all calls complete', async () => {
    const prefix = `cross:${randomUUID()}:`;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    model.setScript((): FakeTurn => ({ text: 'shared answer', gate, pauseAfterChunks: 1 }));
    const stats = observe(prefix);
    const spawned = ['w1', 'w2', 'w3'].map((name) => spawnWorker(name, prefix, 4, 5_000));

    await model.waitForRequests(GLOBAL_LIMIT);
    // The 8 other calls are provably waiting in Redis (not merely slow), while 4 are held at the model.
    await vi.waitFor(async () => expect(await stats.stats()).toMatchObject({ running: 4, queued: 8, keys: { global: { running: 4, queued: 8 } } }), { interval: 20, timeout: 15_000 });
    expect(model.requests).toHaveLength(GLOBAL_LIMIT);
    expect(model.inFlight).toBe(GLOBAL_LIMIT);

    open();
    const texts = await Promise.all(spawned.map((worker) => worker.finished));
    expect(texts).toEqual(spawned.map(() => Array.from({ length: 4 }, () => 'shared answer')));
    expect(await Promise.all(spawned.map((worker) => worker.exited))).toEqual([0, 0, 0]);
    expect(model.requests).toHaveLength(12);
    expect(new Set(model.requests.map((r) => labelOf(r).split(' ')[0]))).toEqual(new Set(['w1', 'w2', 'w3']));
    expect(model.maxInFlight).toBe(GLOBAL_LIMIT);
    expect(await stats.stats()).toEqual({ running: 0, queued: 0, keys: {}, leasesLost: 0 });
  });

  it('a process killed (SIGKILL) while holding slots frees them within the lease TTL; the other processes then acquire', async () => {
    const prefix = `crash:${randomUUID()}:`;
    const leaseTtlMs = 1_000;
    let openVictim!: () => void;
    const victimGate = new Promise<void>((resolve) => (openVictim = resolve)); // never opened: the victim holds its slots until killed
    model.setScript((request): FakeTurn => (labelOf(request).startsWith('victim') ? { text: 'never', gate: victimGate, pauseAfterChunks: 1 } : { text: 'survived' }));
    const stats = observe(prefix);

    const victim = spawnWorker('victim', prefix, GLOBAL_LIMIT, leaseTtlMs);
    await model.waitForRequests(GLOBAL_LIMIT);
    const survivors = ['s1', 's2'].map((name) => spawnWorker(name, prefix, 3, leaseTtlMs));
    await vi.waitFor(async () => expect(await stats.stats()).toMatchObject({ running: 4, queued: 6 }), { interval: 20, timeout: 15_000 });

    victim.child.kill('SIGKILL'); // no release, no goodbye: only the lease TTL frees its slots
    expect(await victim.exited).toBeNull();
    await model.waitForRequests(GLOBAL_LIMIT + 6);

    const texts = await Promise.all(survivors.map((worker) => worker.finished));
    expect(texts).toEqual([Array(3).fill('survived'), Array(3).fill('survived')]);
    expect(await Promise.all(survivors.map((worker) => worker.exited))).toEqual([0, 0]);
    const labels = model.requests.map(labelOf);
    expect(labels.slice(0, GLOBAL_LIMIT).every((label) => label.startsWith('victim'))).toBe(true);
    expect(labels.slice(GLOBAL_LIMIT).filter((label) => label.startsWith('s')).sort()).toEqual(['s1 0', 's1 1', 's1 2', 's2 0', 's2 1', 's2 2']);
    expect(model.maxInFlight).toBeLessThanOrEqual(GLOBAL_LIMIT);
    expect(await stats.stats()).toMatchObject({ running: 0, queued: 0, keys: {} });
    openVictim();
  });
});
