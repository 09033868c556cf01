// Why this file exists: the in-process limiter end to end — the real pipeline, the `openai` client
// wrapped by `wrapOpenAI`, the fake model server counting what actually reaches the model — so
// "at most N in flight", "every exit path gives its slot back" and "priority reorders the line" are
// observed where they matter: at the model endpoint.
import { createPipeline, ExecutionDeniedError, type Outcome, type Pipeline, type SluicePlugin } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import { concurrency, type ConcurrencyOptions, type ConcurrencyPlugin } from '@sluice/plugin-concurrency';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeModelServer, type FakeModelServer, type FakeTurn, type RecordedRequest } from '../fake-model-server.ts';

let server: FakeModelServer;
let pipelines: Pipeline[] = [];
beforeEach(async () => {
  server = await startFakeModelServer();
});
afterEach(async () => {
  for (const sluice of pipelines) await sluice.close();
  pipelines = [];
  await server.close();
});

/** The user message of a recorded request: tests put the call's label there. */
function labelOf(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ content?: unknown }> };
  return String(body.messages?.[0]?.content ?? '');
}

/** A gate the test opens; streams scripted with it hold after their first chunk. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function setup(options: ConcurrencyOptions, extraPlugins: SluicePlugin[] = []) {
  const limiter = concurrency(options);
  const outcomes: Outcome[] = [];
  const reports: SluicePlugin = { name: 'reports', apply: (h) => h.onReport.tap('reports', (_call, outcome) => void outcomes.push(outcome)) };
  const sluice = createPipeline({ plugins: [limiter, ...extraPlugins, reports] });
  pipelines.push(sluice);
  const base = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries: 0 });
  const clients = new Map<string, OpenAI>();
  /** A wrapped client for one tenant, with fixed call attributes. */
  const client = (tenant: string, attributes: Record<string, unknown> = {}): OpenAI => {
    const id = `${tenant}|${JSON.stringify(attributes)}`;
    let made = clients.get(id);
    if (!made) {
      made = wrapOpenAI(base, sluice, { scope: { customerTenantId: tenant, delegationId: `d_${tenant}` }, attributes: () => ({ ...attributes }) });
      clients.set(id, made);
    }
    return made;
  };
  return { limiter, sluice, outcomes, client };
}

/** One streamed chat call, read to the end; resolves to the text. */
async function streamed(openai: OpenAI, label: string, model = 'gpt-fake', signal?: AbortSignal): Promise<string> {
  const stream = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: label }], stream: true }, signal ? { signal } : undefined);
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

async function untilStats(limiter: ConcurrencyPlugin, check: (stats: ReturnType<ConcurrencyPlugin['stats']>) => void): Promise<void> {
  await vi.waitFor(() => check(limiter.stats()), { interval: 2, timeout: 10_000 });
}

describe('concurrency() with wrapOpenAI and the fake model', () => {
  it('perTenant 2: 20 held streams of tenant A never put more than 2 at the model, while tenant B completes', async () => {
    const held = gate();
    server.setScript((request): FakeTurn => (labelOf(request).startsWith('A') ? { text: 'held answer for A', gate: held.promise, pauseAfterChunks: 1 } : { text: 'B goes through' }));
    const { limiter, client } = setup({ perTenant: { concurrency: 2 } });
    const aCalls = Array.from({ length: 20 }, (_, i) => streamed(client('A'), `A ${i}`));
    await server.waitForRequests(2);
    await untilStats(limiter, (stats) => expect(stats.keys['tenant:A']).toEqual({ running: 2, queued: 18 }));

    expect(await streamed(client('B'), 'B 0')).toBe('B goes through');
    const aRequests = () => server.requests.filter((r) => labelOf(r).startsWith('A')).length;
    expect(aRequests()).toBe(2);
    expect(server.maxInFlight).toBe(3); // two held A streams + the B call

    server.reset(); // maxInFlight restarts from the two held streams
    held.open();
    const texts = await Promise.all(aCalls);
    expect(texts).toEqual(Array.from({ length: 20 }, () => 'held answer for A'));
    expect(aRequests()).toBe(18);
    expect(server.maxInFlight).toBe(2);
    expect(limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('slots come back on completion, failure, abort (running and queued), deny and break: 1,000 mixed calls leave nothing behind', async () => {
    const never = gate(); // abort-running streams hold here until the client aborts
    server.setScript((request): FakeTurn => {
      const kind = labelOf(request).split(' ')[0];
      if (kind === 'fail') return { fault: { kind: 'status', status: 500, message: 'upstream exploded' } };
      if (kind === 'abort-running') return { text: 'never finished text', gate: never.promise, pauseAfterChunks: 1 };
      return { text: 'one two three four' };
    });
    const denier: SluicePlugin = {
      name: 'denier',
      apply: (h) => h.prepare.tap('denier', (call) => (call.attributes.kind === 'deny' ? { outcome: 'deny', code: 'not_allowed', message: 'denied by test' } : undefined)),
    };
    const { limiter, sluice, outcomes, client } = setup(
      {
        perTenant: { concurrency: 3 },
        perModel: { concurrency: 6 },
        global: { concurrency: 8 },
        // The abort-queued calls go last, so they are certainly waiting when they are aborted.
        priority: (call) => (call.attributes.kind === 'abort-queued' ? -1 : 0),
      },
      [denier],
    );
    const plan: Array<[string, number]> = [
      ['complete-stream', 250],
      ['complete-plain', 150],
      ['fail', 150],
      ['abort-running', 100],
      ['break', 150],
      ['deny', 100],
      ['abort-queued', 100],
    ];
    const kinds = plan.flatMap(([kind, count]) => Array.from({ length: count }, () => kind));
    // A fixed interleaving (7919 is prime, so i → 7919·i mod n is a permutation); abort-queued go last.
    const others = kinds.filter((k) => k !== 'abort-queued');
    const mixed = [...others.map((_, i) => others[(i * 7919) % others.length]!), ...kinds.filter((k) => k === 'abort-queued')];
    const queuedAborts: AbortController[] = [];
    const results = mixed.map(async (kind, i) => {
      const tenant = `t_${i % 5}`;
      const model = i % 2 === 0 ? 'gpt-fake' : 'gpt-fake-mini';
      const openai = client(tenant, { kind });
      const label = `${kind} ${i}`;
      const messages = [{ role: 'user' as const, content: label }];
      switch (kind) {
        case 'complete-stream':
          return streamed(openai, label, model);
        case 'complete-plain':
          return (await openai.chat.completions.create({ model, messages })).choices[0]?.message.content;
        case 'fail':
        case 'deny':
          return openai.chat.completions.create({ model, messages }).then(
            () => 'unexpected success',
            (e: unknown) => (e instanceof ExecutionDeniedError ? 'denied' : e instanceof OpenAI.InternalServerError ? 'failed' : String(e)),
          );
        case 'abort-running': {
          const controller = new AbortController();
          const stream = await openai.chat.completions.create({ model, messages, stream: true }, { signal: controller.signal });
          try {
            for await (const _chunk of stream) controller.abort();
          } catch (e) {
            return e instanceof OpenAI.APIUserAbortError ? 'aborted' : String(e);
          }
          return 'aborted'; // the SDK may also end an aborted stream quietly
        }
        case 'break': {
          const stream = await openai.chat.completions.create({ model, messages, stream: true });
          for await (const _chunk of stream) break;
          return 'broke';
        }
        default: {
          const controller = new AbortController();
          queuedAborts.push(controller);
          return streamed(openai, label, model, controller.signal).then(
            () => 'unexpected success',
            (e: unknown) => (e instanceof Error && e.name === 'AbortError' ? 'aborted in queue' : `${String(e)}`),
          );
        }
      }
    });
    await server.waitForRequests(20);
    for (const controller of queuedAborts) controller.abort(new DOMException('user left while queued', 'AbortError'));
    const settled = await Promise.all(results);
    await sluice.idle();

    const tally = (values: ReadonlyArray<unknown>) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [String(v)]: (acc[String(v)] ?? 0) + 1 }), {});
    expect(tally(settled)).toEqual({
      'one two three four': 400,
      failed: 150,
      aborted: 100,
      broke: 150,
      denied: 100,
      'aborted in queue': 100,
    });
    expect(tally(outcomes.map((o) => o.status))).toEqual({ completed: 400, failed: 150, aborted: 350, denied: 100 });
    expect(server.requests).toHaveLength(800); // neither denied nor queued-then-aborted calls reached the model
    expect(server.requests.some((r) => labelOf(r).startsWith('abort-queued'))).toBe(false);
    expect(server.maxInFlight).toBeLessThanOrEqual(8);
    expect(limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
    never.open();
  });

  it('an abort while queued: the request never reaches the model, the call reports aborted, the holder still completes', async () => {
    const held = gate();
    server.setScript((request): FakeTurn => (labelOf(request) === 'holder' ? { text: 'held', gate: held.promise, pauseAfterChunks: 1 } : { text: 'other' }));
    const { limiter, sluice, outcomes, client } = setup({ global: { concurrency: 1 } });
    const holder = streamed(client('A'), 'holder');
    await server.waitForRequests(1);
    const controller = new AbortController();
    const queued = streamed(client('A'), 'queued', 'gpt-fake', controller.signal).catch((e: unknown) => e);
    await untilStats(limiter, (stats) => expect(stats.queued).toBe(1));
    const reason = new Error('user left the page');
    controller.abort(reason);
    expect(await queued).toBe(reason); // the signal's reason, rethrown before any request
    await sluice.idle();
    expect(outcomes.map((o) => o.status)).toEqual(['aborted']);
    expect(limiter.stats()).toEqual({ running: 1, queued: 0, keys: { global: { running: 1, queued: 0 } } });
    held.open();
    expect(await holder).toBe('held');
    expect(server.requests.map(labelOf)).toEqual(['holder']);
  });

  it('queue_full and queue_timeout are blocked ExecutionDeniedErrors; nothing reaches the model for them', async () => {
    const held = gate();
    server.setScript((request): FakeTurn => (labelOf(request) === 'holder' ? { text: 'held', gate: held.promise, pauseAfterChunks: 1 } : { text: 'fine' }));
    const full = setup({ perTenant: { concurrency: 1 }, maxQueue: 1 });
    const holder = streamed(full.client('t_1'), 'holder');
    await server.waitForRequests(1);
    const waiting = streamed(full.client('t_1'), 'waiting');
    await untilStats(full.limiter, (stats) => expect(stats.queued).toBe(1));
    const refused = await streamed(full.client('t_1'), 'refused').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ExecutionDeniedError);
    expect(refused).toMatchObject({ kind: 'blocked', reasonCode: 'queue_full', reasonMessage: 'tenant t_1 queue is full (1 waiting)' });

    const timed = setup({ global: { concurrency: 1 }, maxWaitMs: 10 });
    const timedHolder = streamed(timed.client('t_2'), 'holder');
    await server.waitForRequests(2);
    const late = await streamed(timed.client('t_2'), 'late').catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ExecutionDeniedError);
    expect(late).toMatchObject({ kind: 'blocked', reasonCode: 'queue_timeout' });

    held.open();
    expect(await Promise.all([holder, waiting, timedHolder])).toEqual(['held', 'fine', 'held']);
    expect(server.requests.map(labelOf)).toEqual(['holder', 'holder', 'waiting']);
    await Promise.all([full.sluice.idle(), timed.sluice.idle()]);
    expect(full.outcomes.map((o) => o.status).sort()).toEqual(['completed', 'completed', 'denied']);
    expect(timed.outcomes.map((o) => o.status).sort()).toEqual(['completed', 'denied']);
  });

  it('priorities reorder the line: queued calls reach the model highest priority first, then in arrival order', async () => {
    const held = gate();
    server.setScript((request): FakeTurn => (labelOf(request) === 'holder' ? { text: 'held', gate: held.promise, pauseAfterChunks: 1 } : { text: 'ok' }));
    const { limiter, client } = setup({ global: { concurrency: 1 } });
    const holder = streamed(client('A'), 'holder');
    await server.waitForRequests(1);
    const queued: Array<Promise<string>> = [];
    for (const [label, priority] of [['p0', 0], ['p5a', 5], ['p1', 1], ['p5b', 5], ['p10', 10]] as const) {
      queued.push(streamed(client('A', { priority }), label));
      await untilStats(limiter, (stats) => expect(stats.queued).toBe(queued.length));
    }
    held.open();
    await Promise.all([holder, ...queued]);
    expect(server.requests.map(labelOf)).toEqual(['holder', 'p10', 'p5a', 'p5b', 'p1', 'p0']);
  });
});
