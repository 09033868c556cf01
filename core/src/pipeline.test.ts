import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ExecutionDeniedError, SluiceClosedError, SluiceConfigError, SluicePluginError } from './errors.ts';
import type { ModelCall, Outcome } from './model-call.ts';
import type { ActiveCall } from './active-call.ts';
import { createPipeline, type CallInit, type SluicePlugin } from './pipeline.ts';
import { currentScope, withScope } from './scope.ts';

const init: CallInit = { source: 'openai', api: 'chat_completions', stream: true, model: 'gpt-test' };

function reportsOf(pipelinePlugins: SluicePlugin[] = []) {
  const outcomes: Array<{ call: ModelCall; outcome: Outcome }> = [];
  const errors: SluicePluginError[] = [];
  const recorder: SluicePlugin = {
    name: 'reports',
    apply(hooks) {
      hooks.onReport.tap('reports', (call, outcome) => {
        outcomes.push({ call, outcome });
      });
    },
  };
  const sluice = createPipeline({ plugins: [...pipelinePlugins, recorder], onPluginError: (e) => errors.push(e) });
  return { sluice, outcomes, errors };
}

describe('createPipeline', () => {
  it('runs beforePrepare → prepare → onAllow, then events, then exactly one report', async () => {
    const order: string[] = [];
    const plugin: SluicePlugin = {
      name: 'order',
      apply(hooks) {
        hooks.beforePrepare.tap('order', (call) => (order.push('beforePrepare'), call));
        hooks.prepare.tap('order', () => void order.push('prepare'));
        hooks.onAllow.tap('order', () => void order.push('onAllow'));
        hooks.onEvent.tap('order', (_call, event) => void order.push(`onEvent:${String(event.native)}`));
        hooks.onReport.tap('order', (_call, outcome) => void order.push(`onReport:${outcome.status}`));
      },
    };
    const { sluice, outcomes } = reportsOf([plugin]);
    const active = await sluice.startCall(init);
    active.event('a');
    active.event('b');
    active.complete({ usage: undefined, finishReason: 'stop' });
    active.complete({ usage: undefined });
    active.fail(new Error('late'));
    active.abort('late');
    await sluice.idle();
    expect(order).toEqual(['beforePrepare', 'prepare', 'onAllow', 'onEvent:a', 'onEvent:b', 'onReport:completed']);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.outcome).toMatchObject({ status: 'completed', finishReason: 'stop' });
    expect(outcomes[0]!.outcome.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it('a deny answer throws ExecutionDeniedError after onDeny and onReport(denied)', async () => {
    const seen: string[] = [];
    const authorizer: SluicePlugin = {
      name: 'authorizer',
      apply(hooks) {
        hooks.prepare.tapPromise('authorizer', async () => ({ outcome: 'blocked', code: 'budget_exceeded', message: 'no budget left', executionId: 'ex_1', retryAfterMs: 60_000 }));
        hooks.onAllow.tap('authorizer', () => void seen.push('onAllow'));
        hooks.onDeny.tap('authorizer', (_call, denial) => void seen.push(`onDeny:${denial.code}`));
      },
    };
    const { sluice, outcomes } = reportsOf([authorizer]);
    const error = await sluice.startCall(init).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    const denied = error as ExecutionDeniedError;
    expect([denied.kind, denied.code, denied.reasonCode, denied.executionId, denied.retryAfterMs, denied.decidedBy]).toEqual([
      'blocked',
      'SLUICE_EXECUTION_BLOCKED',
      'budget_exceeded',
      'ex_1',
      60_000,
      'authorizer',
    ]);
    await sluice.idle();
    expect(seen).toEqual(['onDeny:budget_exceeded']);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['denied']);
    expect(outcomes[0]!.outcome).toMatchObject({ denial: { outcome: 'blocked', code: 'budget_exceeded', message: 'no budget left' } });
  });

  it('the first prepare answer wins; later taps are not asked', async () => {
    const asked: string[] = [];
    const first: SluicePlugin = { name: 'first', apply: (h) => h.prepare.tap('first', () => (asked.push('first'), { outcome: 'deny', code: 'nope', message: 'first says no' })) };
    const second: SluicePlugin = { name: 'second', apply: (h) => h.prepare.tap('second', () => (asked.push('second'), { outcome: 'allow' })) };
    const { sluice } = reportsOf([first, second]);
    await expect(sluice.startCall(init)).rejects.toMatchObject({ kind: 'deny', reasonCode: 'nope', decidedBy: 'first' });
    expect(asked).toEqual(['first']);
  });

  it('ExecutionDeniedError thrown in beforePrepare is a denial, not a plugin failure', async () => {
    const limiter: SluicePlugin = {
      name: 'limiter',
      apply: (h) =>
        h.beforePrepare.tap('limiter', () => {
          throw new ExecutionDeniedError({ kind: 'blocked', reasonCode: 'queue_full', message: 'queue is full' });
        }),
    };
    const { sluice, outcomes } = reportsOf([limiter]);
    await expect(sluice.startCall(init)).rejects.toMatchObject({ kind: 'blocked', reasonCode: 'queue_full' });
    await sluice.idle();
    expect(outcomes[0]!.outcome).toMatchObject({ status: 'denied', denial: { code: 'queue_full', message: 'queue is full' } });
  });

  // Every way a tap can fail — a sync throw, a callback with an error in the same turn or later, a
  // rejection — on each fail-closed hook (one and two arguments): SluicePluginError naming the plugin.
  const failingTaps = {
    tap: (hook: unknown) => (hook as { tap(name: string, fn: () => never): void }).tap('faulty', () => {
      throw new Error('boom');
    }),
    'tapAsync (same turn)': (hook: unknown) => (hook as { tapAsync(name: string, fn: (...args: unknown[]) => void): void }).tapAsync('faulty', (...args) => (args.at(-1) as (e: Error) => void)(new Error('boom'))),
    'tapAsync (later)': (hook: unknown) => (hook as { tapAsync(name: string, fn: (...args: unknown[]) => void): void }).tapAsync('faulty', (...args) => void setImmediate(() => (args.at(-1) as (e: Error) => void)(new Error('boom')))),
    tapPromise: (hook: unknown) => (hook as { tapPromise(name: string, fn: () => Promise<never>): void }).tapPromise('faulty', async () => {
      throw new Error('boom');
    }),
  };
  it.each((['beforePrepare', 'prepare', 'onAllow'] as const).flatMap((hook) => Object.keys(failingTaps).map((kind) => [hook, kind] as const)))(
    'a failing tap in %s (%s) fails the call closed with SluicePluginError naming the plugin',
    async (hook, kind) => {
      const faulty: SluicePlugin = { name: 'faulty', apply: (hooks) => failingTaps[kind as keyof typeof failingTaps](hooks[hook]) };
      const { sluice, outcomes } = reportsOf([faulty]);
      const error = await sluice.startCall(init).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SluicePluginError);
      expect(error).toMatchObject({ plugin: 'faulty', hook, code: 'SLUICE_PLUGIN_ERROR' });
      expect((error as Error).message).toContain('boom');
      await sluice.idle();
      expect(outcomes.map((o) => o.outcome.status)).toEqual(['failed']);
      expect(outcomes[0]!.outcome).toMatchObject({ error: { type: 'SluicePluginError' } });
    },
  );

  it.each(['tap', 'tapAsync (same turn)', 'tapAsync (later)', 'tapPromise'] as const)('a %s answer passes through every pre-request hook: shaped call, stamped decision, onAllow arguments', async (kind) => {
    const seen: unknown[] = [];
    const answer = <T,>(register: Record<string, (...args: never[]) => void>, name: string, value: (...args: unknown[]) => T) => {
      if (kind === 'tap') (register.tap as (n: string, f: (...a: unknown[]) => T) => void)(name, value);
      else if (kind === 'tapPromise') (register.tapPromise as (n: string, f: (...a: unknown[]) => Promise<T>) => void)(name, async (...a) => value(...a));
      else {
        const later = kind === 'tapAsync (later)';
        (register.tapAsync as (n: string, f: (...a: unknown[]) => void) => void)(name, (...a) => {
          const done = a.pop() as (e: null, r: T) => void;
          const result = value(...a);
          if (later) setImmediate(() => done(null, result));
          else done(null, result);
        });
      }
    };
    const plugin: SluicePlugin = {
      name: 'shaper',
      apply(hooks) {
        answer(hooks.beforePrepare as never, 'shaper', (call) => ({ ...(call as ModelCall), model: 'gpt-shaped' }));
        answer(hooks.prepare as never, 'shaper', () => ({ outcome: 'allow', executionId: 'ex_9' }));
        answer(hooks.onAllow as never, 'shaper', (call, allow) => void seen.push((call as ModelCall).model, allow));
      },
    };
    const { sluice } = reportsOf([plugin]);
    const active = await sluice.startCall(init);
    expect(active.call.model).toBe('gpt-shaped');
    expect(active.allow).toEqual({ outcome: 'allow', executionId: 'ex_9', decidedBy: 'shaper' });
    expect(seen).toEqual(['gpt-shaped', { outcome: 'allow', executionId: 'ex_9', decidedBy: 'shaper' }]);
    active.complete({ usage: undefined });
  });

  it('throws in onEvent, onReport and onDeny are isolated and reported to onPluginError', async () => {
    const seen: string[] = [];
    const faulty: SluicePlugin = {
      name: 'faulty',
      apply(hooks) {
        hooks.onEvent.tap('faulty', () => {
          throw new Error('event boom');
        });
        hooks.onReport.tapPromise('faulty', async () => {
          throw new Error('report boom');
        });
      },
    };
    const after: SluicePlugin = { name: 'after', apply: (h) => h.onEvent.tap('after', (_c, e) => void seen.push(String(e.native))) };
    const { sluice, outcomes, errors } = reportsOf([faulty, after]);
    const active = await sluice.startCall(init);
    active.event('x');
    active.complete({ usage: undefined });
    await sluice.idle();
    expect(seen).toEqual(['x']);
    expect(outcomes).toHaveLength(1);
    expect(errors.map((e) => [e.plugin, e.hook, (e.cause as Error).message])).toEqual([
      ['faulty', 'onEvent', 'event boom'],
      ['faulty', 'onReport', 'report boom'],
    ]);
  });

  it('an abort before authorization reports aborted and rejects with the abort reason', async () => {
    const controller = new AbortController();
    const gate: SluicePlugin = {
      name: 'gate',
      apply: (h) =>
        h.beforePrepare.tapPromise('gate', async (call) => {
          controller.abort(new Error('user left'));
          return call;
        }),
    };
    const { sluice, outcomes } = reportsOf([gate]);
    await expect(sluice.startCall({ ...init, signal: controller.signal })).rejects.toThrow('user left');
    await sluice.idle();
    expect(outcomes.map((o) => o.outcome)).toMatchObject([{ status: 'aborted', reason: 'user left' }]);
  });

  it('fail() on an aborted call reports aborted; abort() aborts the call signal', async () => {
    const { sluice, outcomes } = reportsOf();
    const controller = new AbortController();
    const a = await sluice.startCall({ ...init, signal: controller.signal });
    controller.abort('stop');
    expect(a.call.signal.aborted).toBe(true);
    a.fail(new Error('fetch aborted'));
    const b = await sluice.startCall(init);
    b.abort('consumer stopped');
    expect(b.call.signal.aborted).toBe(true);
    await sluice.idle();
    expect(outcomes.map((o) => [o.outcome.status, 'reason' in o.outcome ? o.outcome.reason : ''])).toEqual([
      ['aborted', 'stop'],
      ['aborted', 'consumer stopped'],
    ]);
  });

  it('decidedAt: after prepare answered and before onAllow; when a denial was made; the creation time without pre-request taps', async () => {
    const plain = await reportsOf().sluice.startCall(init);
    expect(plain.call.decidedAt).toBe(plain.call.createdAt);

    let answeredAt = 0;
    let seenByOnAllow: number | undefined;
    let onAllowAt = 0;
    const authorizer: SluicePlugin = {
      name: 'authorizer',
      apply(h) {
        h.prepare.tapPromise('authorizer', async () => {
          await Promise.resolve();
          answeredAt = performance.now();
          return undefined;
        });
        h.onAllow.tap('authorizer', (call) => {
          seenByOnAllow = call.decidedAt;
          onAllowAt = performance.now();
        });
      },
    };
    const allowed = await reportsOf([authorizer]).sluice.startCall(init);
    expect(answeredAt).toBeGreaterThan(0);
    expect(allowed.call.decidedAt).toBeGreaterThanOrEqual(answeredAt);
    expect(allowed.call.decidedAt).toBeLessThanOrEqual(onAllowAt);
    expect(seenByOnAllow).toBe(allowed.call.decidedAt);

    let deniedAt = 0;
    const denier: SluicePlugin = {
      name: 'denier',
      apply: (h) =>
        h.prepare.tap('denier', () => {
          deniedAt = performance.now();
          return { outcome: 'deny', code: 'budget_exceeded', message: 'no budget' };
        }),
    };
    const denied = reportsOf([denier]);
    await expect(denied.sluice.startCall(init)).rejects.toBeInstanceOf(ExecutionDeniedError);
    await denied.sluice.idle();
    expect(denied.outcomes[0]!.call.decidedAt).toBeGreaterThanOrEqual(deniedAt);

    // Allowed by prepare, then denied by an onAllow tap: the denial's time, not the allow's.
    let allowAnsweredAt: number | undefined;
    const lateDenier: SluicePlugin = {
      name: 'late-denier',
      apply: (h) =>
        h.onAllow.tap('late-denier', (call) => {
          allowAnsweredAt = call.decidedAt;
          throw new ExecutionDeniedError({ kind: 'blocked', reasonCode: 'suspended', message: 'tenant suspended' });
        }),
    };
    const late = reportsOf([lateDenier]);
    await expect(late.sluice.startCall(init)).rejects.toMatchObject({ reasonCode: 'suspended' });
    await late.sluice.idle();
    const lateCall = late.outcomes[0]!.call;
    expect(lateCall.decision).toMatchObject({ outcome: 'blocked', code: 'suspended' });
    expect(allowAnsweredAt).toBeGreaterThan(0);
    expect(lateCall.decidedAt).toBeGreaterThan(allowAnsweredAt!);
  });

  it('without pre-request taps a call starts allowed at once; an aborted caller signal, a bad one and a closed pipeline still reject', async () => {
    const { sluice, outcomes } = reportsOf(); // only an onReport tap: the path without beforePrepare/prepare/onAllow
    const caller = new AbortController();
    const started = sluice.startCall({ ...init, signal: caller.signal });
    expect(started).toBeInstanceOf(Promise);
    const active = await started;
    expect(active.call.decision).toEqual({ outcome: 'allow' });
    expect(active.allow).toBe(active.call.decision);
    expect(sluice.activeCalls).toBe(1);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    active.complete({ usage: undefined });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(sluice.activeCalls).toBe(0);

    const aborted = new AbortController();
    aborted.abort(new Error('gone before the call'));
    await expect(sluice.startCall({ ...init, signal: aborted.signal })).rejects.toThrow('gone before the call');
    // Not an AbortSignal: a rejection (never a synchronous throw), and no call is left open.
    let thrown: unknown;
    const bad = (() => {
      try {
        return sluice.startCall({ ...init, signal: {} as AbortSignal });
      } catch (error) {
        thrown = error;
        return undefined;
      }
    })();
    expect(thrown).toBeUndefined();
    await expect(bad).rejects.toThrow(TypeError);
    expect(sluice.activeCalls).toBe(0);
    await sluice.close();
    await expect(sluice.startCall(init)).rejects.toBeInstanceOf(SluiceClosedError);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['completed', 'aborted']);
  });

  it('startCallNow: the call itself while every pre-request hook answers in this turn, a promise once one answers later; failures are rejections after their report', async () => {
    let release: (() => void) | undefined;
    let holdNext = false;
    const order: string[] = [];
    const plugin: SluicePlugin = {
      name: 'gate',
      apply(hooks) {
        hooks.beforePrepare.tapAsync('gate', (call, done) => {
          order.push('beforePrepare');
          if (!holdNext) return done(null, call);
          release = () => done(null, { ...call, model: 'routed' });
        });
        hooks.prepare.tap('gate', (call) => (call.model === 'deny-me' ? { outcome: 'deny', code: 'no', message: 'not this model' } : undefined));
        hooks.onAllow.tap('gate', () => void order.push('onAllow'));
      },
    };
    const { sluice, outcomes } = reportsOf([plugin]);

    const now = sluice.startCallNow(init);
    expect(now).not.toBeInstanceOf(Promise);
    expect(order).toEqual(['beforePrepare', 'onAllow']);
    const active = now as Exclude<typeof now, Promise<unknown>>;
    expect(active.call.decision).toEqual({ outcome: 'allow' });
    expect(sluice.activeCalls).toBe(1);
    active.complete({ usage: undefined });

    holdNext = true;
    const later = sluice.startCallNow(init);
    expect(later).toBeInstanceOf(Promise);
    expect(order).toEqual(['beforePrepare', 'onAllow', 'beforePrepare']);
    release!();
    const held = await later;
    expect(held.call.model).toBe('routed');
    expect(order.at(-1)).toBe('onAllow');
    held.complete({ usage: undefined });

    holdNext = false;
    let thrown: unknown;
    let denied: unknown;
    try {
      denied = sluice.startCallNow({ ...init, model: 'deny-me' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    expect(denied).toBeInstanceOf(Promise);
    await expect(denied).rejects.toBeInstanceOf(ExecutionDeniedError);
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['completed', 'completed', 'denied']);
    expect(sluice.activeCalls).toBe(0);
  });

  it('a callback tap that answers twice: the first answer stands, now or later', async () => {
    let later: ((error: Error | null, call?: ModelCall) => void) | undefined;
    let now = true;
    const plugin: SluicePlugin = {
      name: 'twice',
      apply(hooks) {
        hooks.beforePrepare.tapAsync('twice', (call, done) => {
          if (now) {
            done(null, call);
            done(new Error('second answer'));
          } else later = (error, answer) => done(error, answer);
        });
      },
    };
    const { sluice, outcomes } = reportsOf([plugin]);
    const first = await sluice.startCall(init);
    first.complete({ usage: undefined });
    now = false;
    const pending = sluice.startCall(init);
    expect(later).toBeTypeOf('function'); // the tap ran in startCall's turn and holds its callback
    later!(null, undefined);
    later!(new Error('second answer'));
    const second = await pending;
    expect(sluice.activeCalls).toBe(1);
    second.complete({ usage: undefined });
    expect(outcomes.map((o) => o.outcome.status)).toEqual(['completed', 'completed']);
  });

  it('withScope() scopes calls; concurrent scopes do not leak into each other', async () => {
    const { sluice } = reportsOf();
    const scopeA = { customerTenantId: 't_a', delegationId: 'd_a' };
    const scopeB = { customerTenantId: 't_b', delegationId: 'd_b' };
    const runIn = (scope: typeof scopeA) =>
      sluice.withScope(scope, async () => {
        const seen: Array<string | undefined> = [];
        for (let i = 0; i < 5; i++) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          const active = await sluice.startCall(init);
          seen.push(active.call.scope?.customerTenantId);
          active.complete({ usage: undefined });
        }
        return seen;
      });
    const [a, b] = await Promise.all([runIn(scopeA), runIn(scopeB)]);
    expect(a).toEqual(Array(5).fill('t_a'));
    expect(b).toEqual(Array(5).fill('t_b'));
    expect(currentScope()).toBeUndefined();
    expect(withScope(scopeA, () => currentScope())).toBe(scopeA);
  });

  it('rejects malformed plugins with a typed error naming the field', () => {
    expect(() => createPipeline({ plugins: [{ name: '', apply() {} }] })).toThrow(SluiceConfigError);
    expect(() => createPipeline({ plugins: [{ name: '', apply() {} }] })).toThrow('plugins[0].name');
    expect(() => createPipeline().use({ name: 'x' } as unknown as SluicePlugin)).toThrow(/plugin\.apply: expected a function/);
  });

  it('close() waits for pending reports, then closes plugins last-first, once', async () => {
    const closed: string[] = [];
    let release!: () => void;
    const slowReport = new Promise<void>((resolve) => (release = resolve));
    const a: SluicePlugin = { name: 'a', apply: (h) => h.onReport.tapPromise('a', () => slowReport), close: async () => void closed.push('a') };
    const b: SluicePlugin = { name: 'b', apply() {}, close: async () => void closed.push('b') };
    const sluice = createPipeline({ plugins: [a, b] });
    (await sluice.startCall(init)).complete({ usage: undefined });
    const closing = sluice.close();
    expect(sluice.close()).toBe(closing);
    await Promise.resolve();
    expect(closed).toEqual([]);
    release();
    await closing;
    expect(closed).toEqual(['b', 'a']);
  });

  it('close(): refuses new calls, lets calls in flight finish, aborts the rest after the drain timeout', async () => {
    const { sluice, outcomes } = reportsOf();
    const finishing = await sluice.startCall(init);
    const stuck = await sluice.startCall(init);
    expect(sluice.activeCalls).toBe(2);
    const closing = sluice.close({ drainTimeoutMs: 20 });
    await expect(sluice.startCall(init)).rejects.toBeInstanceOf(SluiceClosedError);
    finishing.complete({ usage: undefined });
    await closing;
    expect(sluice.activeCalls).toBe(0);
    expect(stuck.call.signal.aborted).toBe(true);
    expect(outcomes.map((o) => [o.outcome.status, 'reason' in o.outcome ? o.outcome.reason : ''])).toEqual([
      ['completed', ''],
      ['aborted', 'the pipeline is shutting down'],
    ]);
  });

  it('counts the calls in flight however they settle, and close() aborts exactly the unsettled ones, in start order', async () => {
    const { sluice, outcomes } = reportsOf();
    const calls: ActiveCall[] = [];
    for (let i = 0; i < 5; i++) calls.push(await sluice.startCall(init));
    const [a, b, c, d, e] = calls as [ActiveCall, ActiveCall, ActiveCall, ActiveCall, ActiveCall];
    c.complete({ usage: undefined }); // from the middle
    expect(sluice.activeCalls).toBe(4);
    a.fail(new Error('first')); // the first
    e.abort('last'); // the last
    e.abort('again'); // a second settlement changes nothing
    expect(sluice.activeCalls).toBe(2);
    const f = await sluice.startCall(init);
    expect(sluice.activeCalls).toBe(3);
    const settledBefore = outcomes.length;
    await sluice.close({ drainTimeoutMs: 0 });
    expect(sluice.activeCalls).toBe(0);
    const aborted = outcomes.slice(settledBefore);
    expect(aborted.map((o) => o.call.id)).toEqual([b.call.id, d.call.id, f.call.id]);
    expect(aborted.every((o) => o.outcome.status === 'aborted')).toBe(true);
    expect([a, c, e].map((x) => x.call.signal.aborted)).toEqual([false, false, true]);
  });

  it('close() returns as soon as the last call in flight settles', async () => {
    const { sluice } = reportsOf();
    const active = await sluice.startCall(init);
    const closing = sluice.close({ drainTimeoutMs: 60_000 });
    active.complete({ usage: undefined });
    await closing; // would hang for a minute if the drain did not notice the last settlement
    expect(active.settled).toBe(true);
  });
});
