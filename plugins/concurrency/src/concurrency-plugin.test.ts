// Why this file exists: the in-process limiter's contract, driven through a real pipeline without a
// network: which slots a call takes and in which order, that every exit path gives them back exactly
// once, and the refusals (queue full, timeout, closed) an app branches on.
import { createPipeline, ExecutionDeniedError, SluiceConfigError, SluicePluginError, type ActiveCall, type CallInit, type Outcome, type Pipeline, type SluicePlugin } from '@sluice/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency, ConcurrencyClosedError, QUEUE_WAIT_MS_ATTRIBUTE, type ConcurrencyOptions, type ConcurrencyPlugin } from './index.ts';

interface World {
  sluice: Pipeline;
  limiter: ConcurrencyPlugin;
  outcomes: Outcome[];
  /** Call ids in the order they reached `prepare` (i.e. were admitted). */
  admitted: string[];
  start(tenant: string | undefined, extra?: Partial<CallInit>): Promise<ActiveCall>;
}

let worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds) await world.sluice.close();
  worlds = [];
});

function world(options: ConcurrencyOptions, plugins: { before?: SluicePlugin[]; after?: SluicePlugin[] } = {}): World {
  const limiter = concurrency(options);
  const outcomes: Outcome[] = [];
  const admitted: string[] = [];
  const recorder: SluicePlugin = {
    name: 'recorder',
    apply(hooks) {
      hooks.prepare.tap('recorder', (call) => void admitted.push(String(call.attributes.label ?? call.id)));
      hooks.onReport.tap('recorder', (_call, outcome) => void outcomes.push(outcome));
    },
  };
  const sluice = createPipeline({ plugins: [...(plugins.before ?? []), limiter, recorder, ...(plugins.after ?? [])], onPluginError: (e) => { throw e; } });
  const w: World = {
    sluice,
    limiter,
    outcomes,
    admitted,
    start: (tenant, extra = {}) =>
      sluice.startCall({
        source: 'openai',
        api: 'chat_completions',
        stream: true,
        model: 'gpt-fake',
        scope: tenant === undefined ? undefined : { customerTenantId: tenant, delegationId: `d_${tenant}` },
        ...extra,
      }),
  };
  worlds.push(w);
  return w;
}

/** Resolves once the limiter reports `queued` calls waiting (the limiter's own counter, polled). */
async function untilQueued(limiter: ConcurrencyPlugin, queued: number): Promise<void> {
  await vi.waitFor(() => expect(limiter.stats().queued).toBe(queued), { interval: 1, timeout: 5_000 });
}

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => new Error('expected a rejection'), (e: unknown) => e);

describe('concurrency() options', () => {
  it.each([
    [{}, 'global'],
    [{ global: { concurrency: 0 } }, 'global.concurrency'],
    [{ global: { concurrency: 1.5 } }, 'global.concurrency'],
    [{ perTenant: { concurrency: Infinity } }, 'perTenant.concurrency'],
    [{ perModel: { concurrency: 1, intervalMs: 1000 } }, 'perModel.intervalCap'],
    [{ perModel: { concurrency: 1, intervalCap: 2 } }, 'perModel.intervalMs'],
    [{ global: { concurrency: 1, intervalMs: -1, intervalCap: 2 } }, 'global.intervalMs'],
    [{ global: { concurrency: 1, intervalMs: 1000, intervalCap: 0 } }, 'global.intervalCap'],
    [{ global: { concurrency: 1, burst: 3 } }, 'global.burst'],
    [{ global: { concurrency: 1 }, maxQueue: -1 }, 'maxQueue'],
    [{ global: { concurrency: 1 }, maxWaitMs: 0 }, 'maxWaitMs'],
    [{ global: { concurrency: 1 }, key: 'tenant' }, 'key'],
    [{ global: { concurrency: 1 }, priority: 3 }, 'priority'],
    [{ global: { concurrency: 1 }, perTenent: { concurrency: 1 } }, 'perTenent'],
  ])('%j → SluiceConfigError naming %s', (options, field) => {
    const error = (() => {
      try {
        concurrency(options as ConcurrencyOptions);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SluiceConfigError);
    expect(error).toMatchObject({ field, code: 'SLUICE_INVALID_CONFIG' });
  });

  it('accepts a rate-only limit (concurrency Infinity with an interval)', () => {
    expect(concurrency({ global: { concurrency: Infinity, intervalMs: 1000, intervalCap: 5 } }).name).toBe('concurrency');
  });
});

describe('concurrency() slots', () => {
  it('takes the tenant slot before the global one: a call waiting for its tenant holds no global slot', async () => {
    const w = world({ perTenant: { concurrency: 1 }, global: { concurrency: 2 } });
    const a1 = await w.start('A');
    const a2 = w.start('A');
    await untilQueued(w.limiter, 1);
    expect(w.limiter.stats().keys).toEqual({ 'tenant:A': { running: 1, queued: 1 }, global: { running: 1, queued: 0 } });
    const b1 = await w.start('B'); // the second global slot is free: A's waiter does not hold it
    expect(w.limiter.stats()).toMatchObject({ running: 2, queued: 1, keys: { global: { running: 2, queued: 0 } } });
    a1.complete({ usage: undefined });
    (await a2).complete({ usage: undefined });
    b1.complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('records the wait on the call for the OpenTelemetry plugin', async () => {
    const w = world({ global: { concurrency: 1 } });
    const first = await w.start('A');
    const second = w.start('A');
    await untilQueued(w.limiter, 1);
    first.complete({ usage: undefined });
    const call = (await second).call;
    expect(typeof call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]).toBe('number');
    expect(call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]).toBeGreaterThanOrEqual(0);
    expect(first.call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]).toBe(0); // admitted without waiting
    (await second).complete({ usage: undefined });
  });

  it('per model and per tenant keys: calls without a tenant share "(no tenant)"; a custom key replaces the tenant', async () => {
    const w = world({ perTenant: { concurrency: 1 }, perModel: { concurrency: 5 } });
    const none = await w.start(undefined);
    expect(w.limiter.stats().keys).toEqual({ 'tenant:(no tenant)': { running: 1, queued: 0 }, 'model:gpt-fake': { running: 1, queued: 0 } });
    none.complete({ usage: undefined });
    const custom = world({ perTenant: { concurrency: 1 }, key: (call) => String(call.attributes.team) });
    const active = await custom.start('A', { attributes: { team: 'red' } });
    expect(Object.keys(custom.limiter.stats().keys)).toEqual(['tenant:red']);
    active.complete({ usage: undefined });
  });

  it('releases exactly once on completed, failed, aborted, a later plugin denying, and a later beforePrepare throwing', async () => {
    const denier: SluicePlugin = { name: 'denier', apply: (h) => h.prepare.tap('denier', (call) => (call.attributes.deny ? { outcome: 'deny', code: 'nope', message: 'no' } : undefined)) };
    const thrower: SluicePlugin = {
      name: 'thrower',
      apply: (h) =>
        h.beforePrepare.tap({ name: 'thrower', stage: 200 }, (call) => {
          if (call.attributes.throw) throw new Error('late shaping failed');
          return call;
        }),
    };
    const w = world({ perTenant: { concurrency: 1 }, global: { concurrency: 1 } }, { after: [denier, thrower] });
    const done = await w.start('A');
    done.complete({ usage: undefined });
    await w.sluice.idle();
    const failed = await w.start('A');
    failed.fail(new Error('provider 500'));
    failed.complete({ usage: undefined }); // ignored: already settled
    await w.sluice.idle();
    const aborted = await w.start('A');
    aborted.abort('user left');
    await w.sluice.idle();
    await expect(w.start('A', { attributes: { deny: true } })).rejects.toBeInstanceOf(ExecutionDeniedError);
    await expect(w.start('A', { attributes: { throw: true } })).rejects.toBeInstanceOf(SluicePluginError);
    await w.sluice.idle();
    expect(w.outcomes.map((o) => o.status)).toEqual(['completed', 'failed', 'aborted', 'denied', 'failed']);
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
    // Still exactly one slot: a held call blocks the next one (a double release would let it through).
    const holder = await w.start('A');
    const next = w.start('A');
    await untilQueued(w.limiter, 1);
    expect(w.limiter.stats().keys['global']).toEqual({ running: 1, queued: 0 });
    holder.complete({ usage: undefined });
    (await next).complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('a call whose earlier plugin threw never acquired, so its report releases nothing', async () => {
    const early: SluicePlugin = {
      name: 'early',
      apply: (h) =>
        h.beforePrepare.tap('early', (call) => {
          if (call.attributes.throw) throw new Error('early failure');
          return call;
        }),
    };
    const w = world({ global: { concurrency: 1 } }, { before: [early] });
    const holder = await w.start('A');
    await expect(w.start('A', { attributes: { throw: true } })).rejects.toBeInstanceOf(SluicePluginError);
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 0, keys: { global: { running: 1, queued: 0 } } });
    holder.complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('an abort while queued leaves the queue at once and reports aborted with the signal reason', async () => {
    const w = world({ perTenant: { concurrency: 1 } });
    const holder = await w.start('A');
    const controller = new AbortController();
    const queued = w.start('A', { signal: controller.signal, attributes: { label: 'queued' } });
    await untilQueued(w.limiter, 1);
    const reason = new Error('user navigated away');
    controller.abort(reason);
    expect(await rejection(queued)).toBe(reason);
    await w.sluice.idle();
    expect(w.outcomes).toMatchObject([{ status: 'aborted', reason: 'user navigated away' }]);
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 0, keys: { 'tenant:A': { running: 1, queued: 0 } } });
    holder.complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.admitted).not.toContain('queued');
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('a call that waited and was admitted is not taken out of any line when aborted later: its slot comes back once, at its report', async () => {
    const w = world({ perTenant: { concurrency: 1 } });
    const holder = await w.start('A');
    const controller = new AbortController();
    const waited = w.start('A', { signal: controller.signal, attributes: { label: 'waited' } });
    const third = w.start('A', { attributes: { label: 'third' } });
    await untilQueued(w.limiter, 2);
    holder.complete({ usage: undefined });
    const admitted = await waited;
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 1, keys: { 'tenant:A': { running: 1, queued: 1 } } });
    // The ended wait still listens on the call's signal: the abort must change nothing in the line.
    controller.abort(new Error('user left mid-call'));
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 1, keys: { 'tenant:A': { running: 1, queued: 1 } } });
    // The integration sees its request cancelled and reports; the slot goes to the next in line.
    admitted.abort('user left mid-call');
    const next = await third;
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 0, keys: { 'tenant:A': { running: 1, queued: 0 } } });
    expect(w.admitted).toEqual([expect.any(String), 'waited', 'third']);
    next.complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.outcomes.map((o) => o.status)).toEqual(['completed', 'aborted', 'completed']);
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('an abort with an empty reason still takes the call out of the line (a falsy reason is not success)', async () => {
    const w = world({ perTenant: { concurrency: 1 } });
    const holder = await w.start('A');
    const controller = new AbortController();
    const queued = w.start('A', { signal: controller.signal, attributes: { label: 'queued' } });
    await untilQueued(w.limiter, 1);
    controller.abort('');
    expect(await rejection(queued)).toBeDefined();
    await w.sluice.idle();
    expect(w.outcomes.map((o) => o.status)).toEqual(['aborted']);
    expect(w.admitted).not.toContain('queued');
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 0, keys: { 'tenant:A': { running: 1, queued: 0 } } });
    holder.complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('higher priority first, arrival order among equals (default: attributes.priority)', async () => {
    const w = world({ global: { concurrency: 1 } });
    const holder = await w.start('A', { attributes: { label: 'holder' } });
    const waiting: Array<Promise<ActiveCall>> = [];
    for (const [label, priority] of [['p0', 0], ['p5a', 5], ['p1', 1], ['p5b', 5], ['p10', 10]] as const) {
      waiting.push(w.start('A', { attributes: { label, priority } }));
      await untilQueued(w.limiter, waiting.length);
    }
    holder.complete({ usage: undefined });
    for (let i = 0; i < waiting.length; i++) {
      // Each admitted call completes, which admits the next one.
      await vi.waitFor(() => expect(w.admitted).toHaveLength(i + 2), { interval: 1 });
      const label = w.admitted.at(-1);
      const active = await waiting.find((_p, index) => ['p0', 'p5a', 'p1', 'p5b', 'p10'][index] === label)!;
      active.complete({ usage: undefined });
    }
    expect(w.admitted).toEqual(['holder', 'p10', 'p5a', 'p5b', 'p1', 'p0']);
  });

  it('a priority function returning NaN fails the call closed, naming the plugin', async () => {
    const w = world({ global: { concurrency: 1 }, priority: () => Number.NaN });
    const error = await rejection(w.start('A'));
    expect(error).toBeInstanceOf(SluicePluginError);
    expect(error).toMatchObject({ plugin: 'concurrency', hook: 'beforePrepare' });
    expect(String((error as Error).message)).toContain('finite number');
  });
});

describe('concurrency() refusals', () => {
  it('queue_full: blocked at once when maxQueue calls already wait for the key, naming the key', async () => {
    const w = world({ perTenant: { concurrency: 1 }, global: { concurrency: 10 }, maxQueue: 2 });
    const holder = await w.start('t_1');
    const queued = [w.start('t_1'), w.start('t_1')];
    await untilQueued(w.limiter, 2);
    const error = await rejection(w.start('t_1'));
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'blocked', reasonCode: 'queue_full', code: 'SLUICE_EXECUTION_BLOCKED', decidedBy: 'concurrency' });
    expect((error as ExecutionDeniedError).reasonMessage).toBe('tenant t_1 queue is full (2 waiting)');
    // another tenant is not affected
    (await w.start('t_2')).complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.outcomes.map((o) => o.status)).toEqual(['denied', 'completed']);
    expect(w.outcomes[0]).toMatchObject({ denial: { outcome: 'blocked', code: 'queue_full' } });
    holder.complete({ usage: undefined });
    for (const call of queued) (await call).complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('queue_full names the global and model keys too; maxQueue 0 refuses only calls that would wait', async () => {
    const w = world({ global: { concurrency: 1 }, maxQueue: 0 });
    const holder = await w.start('A'); // a free slot: admitted even with maxQueue 0
    expect(await rejection(w.start('A'))).toMatchObject({ reasonCode: 'queue_full', reasonMessage: 'global queue is full (0 waiting)' });
    holder.complete({ usage: undefined });
    const m = world({ perModel: { concurrency: 1 }, maxQueue: 0 });
    const modelHolder = await m.start('A');
    expect(await rejection(m.start('B'))).toMatchObject({ reasonMessage: 'model gpt-fake queue is full (0 waiting)' });
    modelHolder.complete({ usage: undefined });
  });

  it('queue_timeout: a call that waits longer than maxWaitMs is blocked, and gives back its tenant slot', async () => {
    const w = world({ perTenant: { concurrency: 2 }, global: { concurrency: 1 }, maxWaitMs: 5 });
    const holder = await w.start('A');
    const error = await rejection(w.start('A'));
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'blocked', reasonCode: 'queue_timeout' });
    expect((error as ExecutionDeniedError).reasonMessage).toContain('global');
    await w.sluice.idle();
    expect(w.outcomes).toMatchObject([{ status: 'denied', denial: { code: 'queue_timeout' } }]);
    expect(w.limiter.stats()).toEqual({ running: 1, queued: 0, keys: { 'tenant:A': { running: 1, queued: 0 }, global: { running: 1, queued: 0 } } });
    holder.complete({ usage: undefined });
  });

  it('a rate limit holds the third call of a window although nothing runs; the idle key lingers one window', async () => {
    const w = world({ perTenant: { concurrency: Infinity, intervalMs: 60_000, intervalCap: 2 } });
    for (let i = 0; i < 2; i++) (await w.start('A')).complete({ usage: undefined });
    await w.sluice.idle();
    const controller = new AbortController();
    const third = w.start('A', { signal: controller.signal });
    await untilQueued(w.limiter, 1);
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 1, keys: { 'tenant:A': { running: 0, queued: 1 } } });
    (await w.start('B')).complete({ usage: undefined }); // another tenant's window
    controller.abort('gave up');
    await rejection(third);
    await w.sluice.idle();
    // The window still counts two starts, so the key is kept for it (dropped after intervalMs).
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: { 'tenant:A': { running: 0, queued: 0 }, 'tenant:B': { running: 0, queued: 0 } } });
  });

  it('a call held back only by the rate window is admitted when the window moves, and the key is dropped one window later', async () => {
    const w = world({ perTenant: { concurrency: Infinity, intervalMs: 40, intervalCap: 2 } });
    for (let i = 0; i < 2; i++) (await w.start('A')).complete({ usage: undefined });
    await w.sluice.idle();
    // The key lingers (its window counts two starts) when the third call arrives and must wait.
    const third = await w.start('A', { attributes: { label: 'third' } });
    expect(third.call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]).toBeGreaterThan(0);
    expect(w.admitted.at(-1)).toBe('third');
    third.complete({ usage: undefined });
    await w.sluice.idle();
    await vi.waitFor(() => expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} }), { interval: 5, timeout: 5_000 });
  });

  it('an abort in the middle of a line keeps the order of the others', async () => {
    const w = world({ global: { concurrency: 1 } });
    const holder = await w.start('A', { attributes: { label: 'holder' } });
    const controller = new AbortController();
    const labels = ['first', 'leaves', 'second', 'third'];
    const waiting = labels.map((label) => w.start('A', { attributes: { label }, ...(label === 'leaves' ? { signal: controller.signal } : {}) }));
    await untilQueued(w.limiter, 4);
    const reason = new Error('changed my mind');
    controller.abort(reason);
    expect(await rejection(waiting[1]!)).toBe(reason);
    expect(w.limiter.stats().keys).toEqual({ global: { running: 1, queued: 3 } });
    holder.complete({ usage: undefined });
    for (const index of [0, 2, 3]) (await waiting[index]!).complete({ usage: undefined });
    await w.sluice.idle();
    expect(w.admitted).toEqual(['holder', 'first', 'second', 'third']);
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('a sliding window admits intervalCap calls per intervalMs, in arrival order (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const w = world({ perTenant: { concurrency: Infinity, intervalMs: 1_000, intervalCap: 2 } });
      const labels = ['a', 'b', 'c', 'd', 'e'];
      const calls = labels.map((label) => w.start('A', { attributes: { label } }));
      await vi.advanceTimersByTimeAsync(0);
      expect(w.admitted).toEqual(['a', 'b']);
      expect(w.limiter.stats().keys['tenant:A']).toEqual({ running: 2, queued: 3 });
      // Completing does not free a rate slot: the window does.
      for (const call of calls.slice(0, 2)) (await call).complete({ usage: undefined });
      await vi.advanceTimersByTimeAsync(999);
      expect(w.admitted).toEqual(['a', 'b']);
      await vi.advanceTimersByTimeAsync(1);
      expect(w.admitted).toEqual(['a', 'b', 'c', 'd']);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(w.admitted).toEqual(labels);
      const waited = await Promise.all(calls.map(async (call) => (await call).call.attributes[QUEUE_WAIT_MS_ATTRIBUTE]));
      expect(waited).toEqual([0, 0, 1_000, 1_000, 2_000]);
      for (const call of calls.slice(2)) (await call).complete({ usage: undefined });
      await w.sluice.idle();
      // The key lingers until its last start leaves the window, then goes.
      expect(Object.keys(w.limiter.stats().keys)).toEqual(['tenant:A']);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
    } finally {
      vi.useRealTimers();
    }
  });

  it('close() ends waits with ConcurrencyClosedError and refuses new calls', async () => {
    const w = world({ global: { concurrency: 1 } });
    const holder = await w.start('A');
    const waiting = w.start('A');
    await untilQueued(w.limiter, 1);
    const refused = rejection(waiting); // handled before close() makes it reject
    await w.limiter.close();
    const error = await refused;
    expect(error).toBeInstanceOf(SluicePluginError);
    expect((error as Error).cause).toBeInstanceOf(ConcurrencyClosedError);
    expect(await rejection(w.start('A'))).toMatchObject({ cause: { code: 'SLUICE_CONCURRENCY_CLOSED' } });
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
    holder.complete({ usage: undefined });
  });

  it('per-key queues are dropped when idle: 500 tenants leave no queue behind', async () => {
    const w = world({ perTenant: { concurrency: 1 }, global: { concurrency: 50 } });
    // Two calls per tenant and 50 global slots: most wait, each completes as soon as it is admitted.
    await Promise.all(Array.from({ length: 500 }, (_, i) => w.start(`t_${i % 250}`).then((call) => call.complete({ usage: undefined }))));
    await w.sluice.idle();
    expect(w.limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });
});
