// Why this file exists: rows 6 of the issue — what the concurrency plugin costs per call when the
// queues are long: many calls across many tenants, one slot per tenant, so nearly all of them wait
// in a queue and are admitted one by one as the call before them reports. Measured through the
// pipeline (`startCall`, then a trivial `complete`), against the same calls on a pipeline without it.
import { createPipeline, type ExecutionScope, type Pipeline, type SluicePlugin } from '@sluice/core';
import { concurrency } from '@sluice/plugin-concurrency';
import { measured, settledHeap, stats } from '../harness.ts';
import { judge, type Row } from '../rows.ts';
import { MODEL } from '../setups.ts';

export interface LimitsConfig {
  calls: number;
  tenants: number;
  /** Interleaved rounds (after one warm-up round each). */
  rounds: number;
}

async function runAll(sluice: Pipeline, scopes: readonly ExecutionScope[], calls: number): Promise<void> {
  const done: Array<Promise<void>> = new Array(calls);
  for (let i = 0; i < calls; i++) {
    done[i] = sluice
      .startCall({ source: 'openai', api: 'chat_completions', stream: false, model: MODEL, scope: scopes[i % scopes.length] })
      .then((active) => active.complete({ usage: undefined }));
  }
  await Promise.all(done);
  await sluice.idle();
}

export async function limitsRows(config: LimitsConfig): Promise<Row[]> {
  const scopes = Array.from({ length: config.tenants }, (_, i) => ({ customerTenantId: `t_${i}`, delegationId: `d_${i}` }));
  // In the untimed warm-up round, every 10,000th admitted call samples how many still wait: the
  // peak the note reports. The timed rounds do not sample (stats() walks every key).
  let peakQueued = 0;
  let admitted = 0;
  let sampling = true;
  const sampler = (stats: () => number): SluicePlugin => ({
    name: 'queue-sampler',
    apply: (hooks) =>
      hooks.onAllow.tap('queue-sampler', () => {
        if (sampling && ++admitted % 10_000 === 0) peakQueued = Math.max(peakQueued, stats());
      }),
  });
  const bare = createPipeline({ plugins: [sampler(() => 0)] });
  const limiter = concurrency({ perTenant: { concurrency: 1 }, global: { concurrency: Math.max(1, Math.floor(config.tenants / 2)) } });
  const limited = createPipeline({ plugins: [limiter, sampler(() => limiter.stats().queued)] });
  const samples = { bare: [] as number[], limited: [] as number[] };
  try {
    for (let round = 0; round <= config.rounds; round++) {
      const order: Array<'bare' | 'limited'> = round % 2 === 0 ? ['bare', 'limited'] : ['limited', 'bare'];
      sampling = round === 0;
      for (const name of order) {
        await settledHeap(); // each round starts from a collected heap
        const started = performance.now();
        await runAll(name === 'limited' ? limited : bare, scopes, config.calls);
        const elapsed = performance.now() - started;
        if (round > 0) samples[name].push((elapsed * 1000) / config.calls);
      }
    }
  } finally {
    await bare.close();
    await limited.close();
  }
  const b = stats(samples.bare);
  const l = stats(samples.limited);
  return [
    judge({ id: 'limits.bare', group: 'limits', scenario: `${config.calls.toLocaleString('en-US')} calls (startCall + complete), pipeline without limits`, n: config.calls, unit: 'µs/call', ...measured(b) }),
    judge({
      id: 'limits.concurrency',
      group: 'limits',
      scenario: `${config.calls.toLocaleString('en-US')} calls across ${config.tenants.toLocaleString('en-US')} tenants, concurrency plugin (1 per tenant, global ${Math.max(1, Math.floor(config.tenants / 2)).toLocaleString('en-US')})`,
      n: config.calls,
      unit: 'µs/call',
      ...measured(l, { id: 'limits.bare', stats: b }),
      target: { metric: 'added', op: '<=', value: 10, text: '≤ 10 µs' },
      note: `enqueue + dequeue through beforePrepare/onReport; up to ${peakQueued.toLocaleString('en-US')} calls waiting at once (sampled every 10,000 admissions of the untimed warm-up round)`,
    }),
  ];
}
