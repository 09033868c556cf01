// Why this file exists: the reason the limiter waits in `beforePrepare` — Vela's relay keys are
// single-use and short-lived, so a call must not be authorized and then sit in a queue. With the
// Vela dev server on an injected clock, a call queued behind a held one while ten minutes pass
// still succeeds; the same scenario with a limiter that waits after authorization fails, which
// shows the test can tell the two apart.
import type { SluicePlugin } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import { concurrency } from '@sluice/plugin-concurrency';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FakeTurn, RecordedRequest } from '../fake-model-server.ts';
import { startVelaWorld, type VelaWorld } from '../vela/vela-harness.ts';

const TEN_MINUTES = 10 * 60_000;

let world: VelaWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function labelOf(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ content?: unknown }> };
  return String(body.messages?.[0]?.content ?? '');
}

async function streamed(openai: OpenAI, label: string): Promise<string> {
  const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: label }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

/** The wrong design, for contrast: one slot, waited for in `onAllow` — after the relay key was issued. */
function limiterAfterAuthorization(): SluicePlugin & { waiting: number } {
  let holder: string | undefined;
  const queue: Array<() => void> = [];
  const plugin = {
    name: 'late-limiter',
    waiting: 0,
    apply(hooks: Parameters<SluicePlugin['apply']>[0]) {
      hooks.onAllow.tapPromise('late-limiter', async (call) => {
        while (holder !== undefined) {
          plugin.waiting++;
          await new Promise<void>((resolve) => queue.push(resolve));
          plugin.waiting--;
        }
        holder = call.id;
      });
      hooks.onReport.tap('late-limiter', (call) => {
        if (holder !== call.id) return;
        holder = undefined;
        queue.shift()?.();
      });
    },
  };
  return plugin;
}

/** Starts a Vela world whose clock the test moves; the upstream holds the call labelled `first`. */
async function heldWorld(limiter: SluicePlugin, clock: { now: number }) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const w = await startVelaWorld({ server: { relayTtlMs: 1_000, now: () => clock.now }, extraPlugins: [limiter] });
  w.upstream.setScript((request): FakeTurn => (labelOf(request) === 'first' ? { text: 'first answer', gate, pauseAfterChunks: 1 } : { text: 'second answer' }));
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', baseURL: w.upstream.baseURL, maxRetries: 0 }), w.sluice, { scope: w.scope });
  return { world: w, openai, open };
}

describe('concurrency() waits before authorization', () => {
  it('a call queued for ten minutes behind a held one is authorized after its wait, so its relay key is fresh', async () => {
    const start = Date.now();
    const clock = { now: start };
    const limiter = concurrency({ global: { concurrency: 1 } });
    const setup = await heldWorld(limiter, clock);
    world = setup.world;
    const first = streamed(setup.openai, 'first');
    await world.upstream.waitForRequests(1);
    const second = streamed(setup.openai, 'second');
    await vi.waitFor(() => expect(limiter.stats().queued).toBe(1), { interval: 2 });
    expect(world.velaServer.admin.audit({ tenant: world.tenantId })).toHaveLength(1); // not yet prepared

    clock.now += TEN_MINUTES; // far beyond the 1 s relay key lifetime
    setup.open();
    expect(await first).toBe('first answer');
    expect(await second).toBe('second answer');
    await world.sluice.idle();
    expect(await world.plugin.flushReports()).toEqual({ pending: 0 });

    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((row) => [row.outcome, row.status])).toEqual([
      ['allow', 'completed'],
      ['allow', 'completed'],
    ]);
    expect(Date.parse(rows[1]!.createdAt)).toBeGreaterThanOrEqual(start + TEN_MINUTES); // prepared after the wait
    expect(world.upstream.requests.map(labelOf)).toEqual(['first', 'second']);
    expect(limiter.stats()).toEqual({ running: 0, queued: 0, keys: {} });
  });

  it('contrast: waiting after authorization lets the relay key expire in the queue', async () => {
    const clock = { now: Date.now() };
    const late = limiterAfterAuthorization();
    const setup = await heldWorld(late, clock);
    world = setup.world;
    const first = streamed(setup.openai, 'first');
    await world.upstream.waitForRequests(1);
    const second = streamed(setup.openai, 'second').catch((e: unknown) => e);
    await vi.waitFor(() => expect(late.waiting).toBe(1), { interval: 2 });
    clock.now += TEN_MINUTES;
    setup.open();
    expect(await first).toBe('first answer');
    const error = await second;
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(String((error as Error).message)).toContain('expired');
    expect(world.upstream.requests.map(labelOf)).toEqual(['first']);
  });
});
