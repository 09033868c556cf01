// Why this file exists: rows 4 of the issue — the local Vela dev server on loopback, in front of
// the fake model HTTP server: how long prepare and report take (against a bare loopback request),
// what the relay adds to the time to first byte, and what it does to throughput at 200 concurrent
// streams. Client, relay and upstream share this process (one event loop), so every microsecond the
// relay spends is on the measured path.
import { randomUUID } from 'node:crypto';
import { startFakeModelServer } from '@sluice/test/fake-model-server';
import { createVelaClient, type PrepareRequest } from '@sluice/plugin-vela';
import { startVelaDevServer } from '@sluice/plugin-vela/dev-server';
import { measured, relativeIqr, stats, type Stats } from '../harness.ts';
import { judge, type Row } from '../rows.ts';
import { MODEL, SLOT } from '../setups.ts';

export interface VelaConfig {
  /** Warm-up iterations, then timed ones, for prepare/report/floor and for TTFB. */
  warmup: number;
  iterations: number;
  /** Concurrent relay streams, text deltas per stream, and rounds, for throughput. */
  streams: number;
  deltasPerStream: number;
  throughputRounds: number;
}

const UPSTREAM_KEY = 'sk-bench-upstream-not-a-key';
const MESSAGES = [{ role: 'user', content: 'Hello' }];

/** A row of times in ms; against `baseline` (its row id and statistics) when given. */
function timeRow(id: string, scenario: string, samples: number[], baseline?: { id: string; stats: Stats }, extra: Partial<Row> = {}): Row {
  return judge({ id, group: 'vela', scenario, n: 1, unit: 'ms', ...measured(stats(samples), baseline), ...extra });
}

/** Reads a streamed body to its end; resolves with the ms from `started` to the first body chunk. */
async function readStream(response: Response, started: number): Promise<number> {
  if (!response.ok || !response.body) throw new Error(`stream request failed: HTTP ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  let firstAt = 0;
  for (;;) {
    const { done } = await reader.read();
    if (firstAt === 0) firstAt = performance.now();
    if (done) break;
  }
  return firstAt - started;
}

export async function velaRows(config: VelaConfig): Promise<Row[]> {
  const upstream = await startFakeModelServer();
  const server = await startVelaDevServer({ upstream: { baseURL: upstream.baseURL, apiKey: UPSTREAM_KEY }, adminToken: 'bench-admin-token-not-a-secret' });
  try {
    const { appId, appToken } = server.admin.createApp({ name: 'Bench' });
    const { tenantId } = server.admin.createTenant({ appId, name: 'Bench tenant' });
    const { delegationId } = server.admin.createDelegation({ tenantId });
    const client = createVelaClient({ baseUrl: server.url, appId, appToken, retries: 0 });
    const prepareBody: PrepareRequest = {
      executionScope: { customerTenantId: tenantId, delegationId },
      modelSlot: SLOT,
      api: 'chat_completions',
      estimatedCostUsd: 0.0001,
      metadata: { source: 'bench' },
    };
    const prepare = async () => {
      const answer = await client.prepare(prepareBody, randomUUID());
      if (answer.outcome !== 'allow') throw new Error(`prepare answered ${answer.outcome}`);
      return answer;
    };
    const floor = async () => {
      const response = await fetch(`${upstream.baseURL}/models`);
      await response.arrayBuffer();
    };

    // Prepare, report and a bare loopback request, interleaved per iteration.
    const samples = { floor: [] as number[], prepare: [] as number[], report: [] as number[] };
    const prepared: string[] = [(await prepare()).executionId];
    const ops: Array<[keyof typeof samples, () => Promise<unknown>]> = [
      ['floor', floor],
      ['prepare', async () => prepared.push((await prepare()).executionId)],
      ['report', () => client.report(prepared.shift()!, { status: 'completed', usage: { inputTokens: 12, outputTokens: 6, totalTokens: 18 }, finishReason: 'stop', durationMs: 5 })],
    ];
    for (let i = 0; i < config.warmup + config.iterations; i++) {
      for (let k = 0; k < ops.length; k++) {
        const [name, op] = ops[(i + k) % ops.length]!;
        if (name === 'report' && prepared.length === 0) prepared.push((await prepare()).executionId);
        const started = performance.now();
        await op();
        if (i >= config.warmup) samples[name].push(performance.now() - started);
      }
    }

    // Time to first byte of a streamed chat completion: straight to the fake model, or through the relay.
    const ttfb = { direct: [] as number[], relay: [] as number[] };
    const body = JSON.stringify({ model: MODEL, stream: true, messages: MESSAGES });
    const direct = async () => {
      const started = performance.now();
      const response = await fetch(`${upstream.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` }, body });
      return readStream(response, started);
    };
    const relayed = async (relay: { baseUrl: string; apiKey: string }) => {
      const started = performance.now();
      const response = await fetch(`${relay.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${relay.apiKey}` }, body });
      return readStream(response, started);
    };
    for (let i = 0; i < config.warmup + config.iterations; i++) {
      const { relay } = await prepare(); // single-use key: not timed
      const first = i % 2 === 0;
      const a = first ? await direct() : await relayed(relay);
      const b = first ? await relayed(relay) : await direct();
      if (i >= config.warmup) {
        ttfb.direct.push(first ? a : b);
        ttfb.relay.push(first ? b : a);
      }
    }

    // Throughput: N concurrent streams of K deltas, straight or relayed (keys prepared untimed).
    upstream.setScript(() => ({ text: ' tok'.repeat(config.deltasPerStream), chunkSize: 4 }));
    const wall = { direct: [] as number[], relay: [] as number[] };
    const all = <T>(make: (i: number) => Promise<T>) => Promise.all(Array.from({ length: config.streams }, (_, i) => make(i)));
    for (let round = 0; round < config.throughputRounds + 1; round++) {
      const keys = await all(() => prepare());
      const runDirect = async () => {
        const started = performance.now();
        await all(() => direct());
        return performance.now() - started;
      };
      const runRelay = async () => {
        const started = performance.now();
        await all((i) => relayed(keys[i]!.relay));
        return performance.now() - started;
      };
      let d: number;
      let r: number;
      if (round % 2 === 0) {
        d = await runDirect();
        r = await runRelay();
      } else {
        r = await runRelay();
        d = await runDirect();
      }
      if (round > 0) {
        wall.direct.push(d);
        wall.relay.push(r);
      }
      await server.settled();
    }

    const chunks = config.streams * config.deltasPerStream;
    const rate = (ms: number[]) => ms.map((t) => (chunks * 1000) / t);
    const throughputRow = (id: string, scenario: string, ms: number[], extra: Partial<Row> = {}): Row => {
      const s = stats(ms);
      return judge({
        id,
        group: 'vela',
        scenario,
        n: config.streams,
        samples: s.n,
        unit: 'chunks/s',
        median: stats(rate(ms)).median,
        // The slow tail: the rate of the slowest round.
        p99: (chunks * 1000) / s.p99,
        spread: relativeIqr(s),
        ...extra,
      });
    };
    // The floor's statistics once, for both rows compared with it.
    const againstFloor = { id: 'vela.floor', stats: stats(samples.floor) };
    return [
      timeRow('vela.floor', 'loopback floor: GET /v1/models on the fake model (keep-alive fetch)', samples.floor),
      timeRow('vela.prepare', 'Vela prepare (POST /v1/executions/prepare → allow + relay key)', samples.prepare, againstFloor, {
        target: { metric: 'median', op: '<=', value: 1, text: 'p50 ≤ 1 ms' },
      }),
      timeRow('vela.report', 'Vela report (POST /v1/executions/{id}/report, completed)', samples.report, againstFloor),
      timeRow('vela.direct-ttfb', 'time to first byte, streamed chat, fake model directly', ttfb.direct),
      timeRow('vela.relay-ttfb', 'time to first byte, streamed chat, through the Vela relay', ttfb.relay, { id: 'vela.direct-ttfb', stats: stats(ttfb.direct) }, {
        target: { metric: 'added', op: '<=', value: 1, text: '≤ 1 ms' },
      }),
      throughputRow('vela.direct-throughput', `${config.streams} concurrent streams × ${config.deltasPerStream} chunks, fake model directly`, wall.direct),
      throughputRow('vela.relay-throughput', `${config.streams} concurrent streams × ${config.deltasPerStream} chunks, through the Vela relay`, wall.relay, {
        baseline: 'vela.direct-throughput',
        baselineMedian: stats(rate(wall.direct)).median,
        ratio: stats(wall.relay).median / stats(wall.direct).median,
        note: 'vs bare = relay wall time ÷ direct wall time (client, relay and fake model share one event loop)',
      }),
    ];
  } finally {
    await server.close();
    await upstream.close();
  }
}
