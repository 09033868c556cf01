// Why this file exists: the Redis limiter's contract against a real redis-server, with several
// limiter instances (each one a "process") sharing one prefix: the line is one line across them,
// slots come back on report, close, abort and lease expiry, and refusals match the in-process ones.
import { randomUUID } from 'node:crypto';
import { createPipeline, ExecutionDeniedError, SluiceConfigError, SluicePluginError, type ActiveCall, type CallInit, type Outcome, type Pipeline, type SluicePlugin } from '@sluice/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisConcurrency, QUEUE_WAIT_MS_ATTRIBUTE, type RedisConcurrencyOptions, type RedisConcurrencyPlugin } from './index.ts';
import { findRedisServer, redisRequiredButMissing, redisTestsEnabled, startRedisServer, type TestRedisServer } from '../../../../test/src/concurrency/redis-server.ts';

const enabled = redisTestsEnabled();

if (redisRequiredButMissing()) {
  it('redis-server is installed (required under CI=true: apt-get install redis-server)', () => {
    expect(findRedisServer(), 'redis-server binary').toBeDefined();
  });
}

interface Instance {
  sluice: Pipeline;
  limiter: RedisConcurrencyPlugin;
  outcomes: Outcome[];
  admitted: string[];
  start(tenant: string, extra?: Partial<CallInit>): Promise<ActiveCall>;
}

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => new Error('expected a rejection'), (e: unknown) => e);

describe.skipIf(!enabled)('redisConcurrency() against redis-server', () => {
  let server: TestRedisServer;
  let admin: Redis;
  let instances: Instance[] = [];
  let prefix = '';

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });
  afterEach(async () => {
    for (const instance of instances) await instance.sluice.close();
    instances = [];
  });

  /** A "process": its own pipeline and limiter (own client from the URL) on the test's prefix. */
  function instance(options: Omit<RedisConcurrencyOptions, 'redis'> & { redis?: RedisConcurrencyOptions['redis'] }): Instance {
    const limiter = redisConcurrency({ redis: server.url, prefix, ...options });
    const outcomes: Outcome[] = [];
    const admitted: string[] = [];
    const recorder: SluicePlugin = {
      name: 'recorder',
      apply(hooks) {
        hooks.prepare.tap('recorder', (call) => void admitted.push(String(call.attributes.label ?? call.id)));
        hooks.onReport.tap('recorder', (_call, outcome) => void outcomes.push(outcome));
      },
    };
    const sluice = createPipeline({ plugins: [limiter, recorder], onPluginError: (e) => { throw e; } });
    const made: Instance = {
      sluice,
      limiter,
      outcomes,
      admitted,
      start: (tenant, extra = {}) =>
        sluice.startCall({ source: 'openai', api: 'chat_completions', stream: true, model: 'gpt-fake', scope: { customerTenantId: tenant, delegationId: 'd' }, ...extra }),
    };
    instances.push(made);
    return made;
  }

  const newPrefix = () => (prefix = `test:${randomUUID()}:`);

  async function untilQueued(limiter: RedisConcurrencyPlugin, queued: number): Promise<void> {
    await vi.waitFor(async () => expect((await limiter.stats()).queued).toBe(queued), { interval: 5, timeout: 5_000 });
  }

  /** Keys of the prefix other than the ticket counter (empty zsets vanish in Redis). */
  async function leftoverKeys(): Promise<string[]> {
    const keys = await admin.keys(`${prefix}*`);
    return keys.filter((key) => !key.endsWith('ticket') && !key.endsWith(':starts')).sort();
  }

  it('validates its options, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ global: { concurrency: 1 } }, 'redis'],
      [{ redis: 'http://localhost', global: { concurrency: 1 } }, 'redis'],
      [{ redis: 'redis://localhost', global: { concurrency: 1 }, prefix: '' }, 'prefix'],
      [{ redis: 'redis://localhost', global: { concurrency: 1 }, leaseTtlMs: 10 }, 'leaseTtlMs'],
      [{ redis: 'redis://localhost' }, 'global'],
      [{ redis: 'redis://localhost', global: { concurrency: 1 }, leaseTTL: 5 }, 'leaseTTL'],
    ];
    for (const [options, field] of cases) {
      expect(() => redisConcurrency(options as RedisConcurrencyOptions), field).toThrow(SluiceConfigError);
      expect(() => redisConcurrency(options as RedisConcurrencyOptions)).toThrow(expect.objectContaining({ field }));
    }
    const prefixed = new Redis(server.url, { keyPrefix: 'app:', lazyConnect: true });
    expect(() => redisConcurrency({ redis: prefixed, global: { concurrency: 1 } })).toThrow(expect.objectContaining({ field: 'redis' }));
    prefixed.disconnect();
  });

  it('one line across processes: a limit of 2 shared by two instances; a release wakes the other instance', async () => {
    newPrefix();
    const x = instance({ global: { concurrency: 2 } });
    const y = instance({ global: { concurrency: 2 } });
    const [x1, x2] = await Promise.all([x.start('A'), x.start('A')]);
    const y1 = y.start('A', { attributes: { label: 'y1' } });
    await untilQueued(y.limiter, 1);
    expect(await x.limiter.stats()).toEqual({ running: 2, queued: 1, keys: { global: { running: 2, queued: 1 } }, leasesLost: 0 });
    x1.complete({ usage: undefined });
    const admittedY = await y1;
    expect(y.admitted).toEqual(['y1']);
    expect(typeof admittedY.call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]).toBe('number');
    x2.complete({ usage: undefined });
    admittedY.complete({ usage: undefined });
    await Promise.all([x.sluice.idle(), y.sluice.idle()]);
    expect(await y.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {}, leasesLost: 0 });
    expect(await leftoverKeys()).toEqual([]);
  });

  it('tenant before global: a call waiting for its tenant holds no global slot', async () => {
    newPrefix();
    const x = instance({ perTenant: { concurrency: 1 }, global: { concurrency: 2 } });
    const a1 = await x.start('A');
    const a2 = x.start('A');
    await untilQueued(x.limiter, 1);
    expect((await x.limiter.stats()).keys).toEqual({ 'tenant:A': { running: 1, queued: 1 }, global: { running: 1, queued: 0 } });
    const b1 = await x.start('B');
    a1.complete({ usage: undefined });
    (await a2).complete({ usage: undefined });
    b1.complete({ usage: undefined });
    await x.sluice.idle();
    expect(await x.limiter.stats()).toMatchObject({ running: 0, queued: 0, keys: {} });
  });

  it('priority first, then arrival order, across instances', async () => {
    newPrefix();
    const x = instance({ global: { concurrency: 1 } });
    const y = instance({ global: { concurrency: 1 } });
    const holder = await x.start('A');
    const order: string[] = [];
    const waiting: Array<Promise<void>> = [];
    const plan = [['p0', 0, x], ['p5a', 5, y], ['p1', 1, x], ['p5b', 5, x], ['p10', 10, y]] as const;
    for (const [label, priority, where] of plan) {
      waiting.push(
        where.start('A', { attributes: { label, priority } }).then((active) => {
          order.push(label);
          active.complete({ usage: undefined });
        }),
      );
      await untilQueued(x.limiter, waiting.length);
    }
    holder.complete({ usage: undefined });
    await Promise.all(waiting);
    expect(order).toEqual(['p10', 'p5a', 'p5b', 'p1', 'p0']);
  });

  it('queue_full, queue_timeout and abort while queued leave no waiter behind', async () => {
    newPrefix();
    const x = instance({ perTenant: { concurrency: 1 }, maxQueue: 1 });
    const holder = await x.start('t_1');
    const controller = new AbortController();
    const queued = x.start('t_1', { signal: controller.signal });
    await untilQueued(x.limiter, 1);
    const full = await rejection(x.start('t_1'));
    expect(full).toBeInstanceOf(ExecutionDeniedError);
    expect(full).toMatchObject({ kind: 'blocked', reasonCode: 'queue_full', reasonMessage: 'tenant t_1 queue is full (1 waiting)', decidedBy: 'concurrency-redis' });
    const reason = new Error('user left');
    controller.abort(reason);
    expect(await rejection(queued)).toBe(reason);

    const y = instance({ perTenant: { concurrency: 1 }, maxWaitMs: 20 });
    const timeout = await rejection(y.start('t_1'));
    expect(timeout).toMatchObject({ kind: 'blocked', reasonCode: 'queue_timeout' });
    await Promise.all([x.sluice.idle(), y.sluice.idle()]);
    expect(x.outcomes.map((o) => o.status)).toEqual(['denied', 'aborted']);
    expect(y.outcomes).toMatchObject([{ status: 'denied', denial: { code: 'queue_timeout' } }]);
    expect(await x.limiter.stats()).toMatchObject({ running: 1, queued: 0, keys: { 'tenant:t_1': { running: 1, queued: 0 } } });
    holder.complete({ usage: undefined });
    await x.sluice.idle();
    expect(await leftoverKeys()).toEqual([]);
  });

  it('a sliding rate window holds the third call although nothing runs', async () => {
    newPrefix();
    const x = instance({ perModel: { concurrency: Infinity, intervalMs: 60_000, intervalCap: 2 } });
    for (let i = 0; i < 2; i++) (await x.start('A')).complete({ usage: undefined });
    await x.sluice.idle();
    const controller = new AbortController();
    const third = x.start('A', { signal: controller.signal });
    await untilQueued(x.limiter, 1);
    expect(await x.limiter.stats()).toMatchObject({ running: 0, queued: 1, keys: { 'model:gpt-fake': { running: 0, queued: 1 } } });
    controller.abort('gave up');
    await rejection(third);
    expect(await admin.zcard(`${prefix}k:model:gpt-fake:starts`)).toBe(2);
  });

  it('a process that stops renewing (its connection gone) loses its slots after the lease TTL; the other proceeds', async () => {
    newPrefix();
    const crashedClient = new Redis(server.url);
    const crashed = instance({ redis: crashedClient, global: { concurrency: 1 }, leaseTtlMs: 300 });
    await crashed.start('A');
    const survivor = instance({ global: { concurrency: 1 }, leaseTtlMs: 300 });
    const waiting = survivor.start('A', { attributes: { label: 'survivor' } });
    await untilQueued(survivor.limiter, 1);
    crashedClient.disconnect(); // no renewals, no release: only the TTL frees the slot
    const active = await waiting; // re-checked on the backoff timer: no release message ever comes
    expect(survivor.admitted).toEqual(['survivor']);
    active.complete({ usage: undefined });
  });

  it('counts a lease that was purged under it as lost', async () => {
    newPrefix();
    const x = instance({ global: { concurrency: 1 }, leaseTtlMs: 300 });
    const active = await x.start('A');
    expect(await admin.zrem(`${prefix}k:global:holders`, active.call.id)).toBe(1);
    await vi.waitFor(async () => expect((await x.limiter.stats()).leasesLost).toBe(1), { interval: 20, timeout: 5_000 });
    active.complete({ usage: undefined });
  });

  it('close() releases held leases (another instance then gets the slot), ends waits and quits its client', async () => {
    newPrefix();
    const x = instance({ global: { concurrency: 1 } });
    const y = instance({ global: { concurrency: 1 } });
    await x.start('A');
    const xWaiting = x.start('A');
    const yWaiting = y.start('A', { attributes: { label: 'y' } });
    await untilQueued(y.limiter, 2);
    const xRefused = rejection(xWaiting); // handled before close() makes it reject
    await x.limiter.close();
    const closedError = await xRefused;
    expect(closedError).toBeInstanceOf(SluicePluginError);
    expect(closedError).toMatchObject({ cause: { code: 'SLUICE_CONCURRENCY_CLOSED' } });
    (await yWaiting).complete({ usage: undefined });
    await y.sluice.idle();
    expect(y.admitted).toEqual(['y']);
    expect(await rejection(x.start('A'))).toMatchObject({ cause: { code: 'SLUICE_CONCURRENCY_CLOSED' } });
    expect(await leftoverKeys()).toEqual([]);
  });

  it('a caller-owned client stays open after close()', async () => {
    newPrefix();
    const own = new Redis(server.url);
    const x = instance({ redis: own, global: { concurrency: 1 } });
    (await x.start('A')).complete({ usage: undefined });
    await x.sluice.close();
    expect(await own.ping()).toBe('PONG');
    await own.quit();
  });
});
