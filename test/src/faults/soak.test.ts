// The soak: many mixed calls through all three integrations and all four plugins against the local
// Vela and the fake model. Nothing may be lost (one audit row per call, with the right status),
// leaked (no secret anywhere), left running (spans, queue slots) or retained (heap stays flat).
// `npm test` runs a CI-sized soak; `npm run test:faults` runs 20,000 calls.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { createOpenAI } from '@ai-sdk/openai';
import { withTrace } from '@openai/agents';
import { createPipeline, type Outcome, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { createSluiceModel } from '@sluice/core/ai-sdk';
import { wrapOpenAI } from '@sluice/core/openai';
import { concurrency } from '@sluice/plugin-concurrency';
import { otel } from '@sluice/plugin-otel';
import { vel } from '@sluice/plugin-vel';
import { createVelaClient, getVelaEnvironmentDiagnostics, vela } from '@sluice/plugin-vela';
import { startVelaDevServer } from '@sluice/plugin-vela/dev-server';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeModelServer, type RecordedRequest } from '../fake-model-server.ts';
import { SLOT } from '../support/scenario.ts';

const CALLS = Number(process.env.SLUICE_SOAK_CALLS ?? 2_000);
const UPSTREAM_KEY = 'sk-soak-upstream-key-0123456789abcdef';
const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/**
 * Heap after a full collection. undici keeps each request's abort signal in a FinalizationRegistry
 * until its cleanup callback runs, which happens in a later task: collect, let those callbacks run,
 * and collect again, or pending finalization looks like growth.
 */
const heapAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  gc();
  return process.memoryUsage().heapUsed;
};

type Kind = 'ok' | 'abort' | 'fail' | 'deny' | 'break';
/** 5% aborted, 5% upstream errors, 5% denied, 5% consumers breaking early, the rest normal. */
const kindOf = (i: number): Kind => (['abort', 'fail', 'deny', 'break'] as const)[i % 20] ?? 'ok';
const expectedStatus: Record<Kind, Outcome['status']> = { ok: 'completed', abort: 'aborted', fail: 'failed', deny: 'denied', break: 'aborted' };

function promptOf(request: RecordedRequest): string {
  return JSON.stringify(request.body);
}

describe(`soak: ${CALLS} mixed calls through every integration and plugin`, () => {
  it('every call has exactly one audit row with the right status; spans, slots and heap all settle; no secret anywhere', async () => {
    const upstream = await startFakeModelServer({
      script: (request) => (promptOf(request).includes('[fail]') ? { text: 'x', fault: { kind: 'status', status: 500, message: 'upstream failure' } } : { text: 'one two three four five six seven eight' }),
    });
    const logs: string[] = [];
    const velaServer = await startVelaDevServer({ upstream: { baseURL: upstream.baseURL, apiKey: UPSTREAM_KEY }, adminToken: ADMIN_TOKEN, logger: (line) => void logs.push(line) });
    const { appId, appToken } = velaServer.admin.createApp({ name: 'soak' });
    const { tenantId } = velaServer.admin.createTenant({ appId });
    const { delegationId } = velaServer.admin.createDelegation({ tenantId, budgetUsd: 1_000_000 });
    const { delegationId: revokedId } = velaServer.admin.createDelegation({ tenantId });
    velaServer.admin.revokeDelegation(revokedId);

    const relayKeys = new Set<string>();
    // Only what the assertions need is kept per call (execution id → status), so the heap
    // measures Sluice, not this test; a wrong status is recorded when it is reported.
    const STATUS_CODES: Outcome['status'][] = ['completed', 'failed', 'aborted', 'denied'];
    const statuses = new Map<string, number>();
    const wrong: string[] = [];
    let reported = 0;
    const pluginErrors: string[] = [];
    const watcher: SluicePlugin = {
      name: 'soak-watcher',
      apply(hooks) {
        hooks.onAllow.tap('soak-watcher', (_call, allow) => void (allow.relay && relayKeys.add(allow.relay.apiKey)));
        hooks.onReport.tap('soak-watcher', (call, outcome) => {
          reported++;
          const kind = call.attributes.kind as Kind;
          const executionId = call.decision?.executionId ?? `(none) ${call.id}`;
          if (statuses.has(executionId)) wrong.push(`${executionId} reported twice`);
          statuses.set(executionId, STATUS_CODES.indexOf(outcome.status));
          if (outcome.status !== expectedStatus[kind]) wrong.push(`${call.source} ${kind}: ${outcome.status} ${outcome.status === 'failed' ? outcome.error.message : ''}`);
        });
      },
    };
    const velaPlugin = vela({ client: createVelaClient({ baseUrl: velaServer.url, appId, appToken }) });
    const limiter = concurrency({ global: { concurrency: 16 } });
    const telemetry = otel();
    const sluice = createPipeline({ plugins: [limiter, velaPlugin, vel(), telemetry, watcher], onPluginError: (e) => void pluginErrors.push(e.message) });
    const scopeFor = (kind: Kind) => ({ customerTenantId: tenantId, delegationId: kind === 'deny' ? revokedId : delegationId });

    const openai = (kind: Kind) => wrapOpenAI(new OpenAI({ apiKey: 'unused-default', maxRetries: 0 }), sluice, { scope: scopeFor(kind), attributes: () => ({ kind }) });
    const agentsModels = new Map<Kind, Awaited<ReturnType<ReturnType<typeof createModelProvider>['getModel']>>>();
    const agentsModel = async (kind: Kind) => {
      let model = agentsModels.get(kind);
      if (!model) {
        model = await createModelProvider(sluice, { slots: [SLOT], api: 'chat_completions', scope: scopeFor(kind), attributes: () => ({ kind }) }).getModel('agent');
        agentsModels.set(kind, model);
      }
      return model;
    };
    const aiModel = (kind: Kind) => createSluiceModel(sluice, { model: 'gpt-fake', api: 'chat_completions', scope: scopeFor(kind), attributes: () => ({ kind }), fallback: createOpenAI({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9/unused' }).chat('gpt-fake') });
    const caught: unknown[] = [];

    const one = async (i: number) => {
      const kind = kindOf(i);
      const integration = i % 3;
      const streamed = kind === 'abort' || kind === 'break' || (i >> 2) % 2 === 0;
      const text = kind === 'fail' ? 'please [fail]' : `call ${i}`;
      const controller = new AbortController();
      try {
        if (integration === 0) {
          const client = openai(kind);
          if (!streamed) return void (await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: text }] }));
          const stream = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: text }], stream: true }, { signal: controller.signal });
          for await (const _chunk of stream) {
            if (kind === 'break') break;
            if (kind === 'abort') controller.abort('soak abort');
          }
        } else if (integration === 1) {
          const model = await agentsModel(kind);
          const request = { input: text, modelSettings: {}, tools: [], outputType: 'text' as const, handoffs: [], tracing: false as const, signal: controller.signal };
          // Direct model calls (as the Runner makes them) need an Agents trace around them.
          await withTrace('soak', async () => {
            if (!streamed) return void (await model.getResponse(request));
            for await (const _event of model.getStreamedResponse(request)) {
              if (kind === 'break') break;
              if (kind === 'abort') controller.abort('soak abort');
            }
          });
        } else {
          const model = aiModel(kind);
          if (kind === 'abort' || kind === 'break') {
            // streamText reads the model stream to its end whatever its consumer does; the consumer
            // that stops or aborts early is the model's direct reader.
            const { stream } = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text }] }], abortSignal: controller.signal });
            const reader = stream.getReader();
            await reader.read();
            if (kind === 'break') return void (await reader.cancel());
            controller.abort('soak abort');
            await reader.read().catch(() => undefined);
            return;
          }
          if (!streamed) return void (await generateText({ model, prompt: text, maxRetries: 0 }));
          const result = streamText({ model, prompt: text, maxRetries: 0, onError: () => undefined });
          for await (const _part of result.textStream);
        }
      } catch (error) {
        caught.push(error);
      }
    };

    /** Searches what was captured since the last check for every secret, then drops it. */
    let relayKeysSeen = 0;
    const checkSecrets = () => {
      const haystack = [...logs, ...pluginErrors, ...caught.map((e) => `${String(e)} ${JSON.stringify(e, Object.getOwnPropertyNames(e ?? {}))}`)].join('\n');
      for (const secret of [appToken, UPSTREAM_KEY, ADMIN_TOKEN, ...relayKeys]) {
        if (haystack.includes(secret)) throw new Error(`a secret leaked (${secret.slice(0, 4)}…)`);
      }
      relayKeysSeen += relayKeys.size;
      logs.length = 0;
      caught.length = 0;
      relayKeys.clear();
      upstream.reset();
    };

    const BATCH = 50;
    let heapAtThousand = 0;
    for (let start = 0; start < CALLS; start += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, CALLS - start) }, (_, j) => one(start + j)));
      await sluice.idle();
      checkSecrets();
      if (start + BATCH === 1_000) {
        await sluice.idle();
        await velaPlugin.flushReports();
        heapAtThousand = await heapAfterGc();
      }
    }
    await sluice.idle();
    expect(await velaPlugin.flushReports(10_000)).toEqual({ pending: 0 });
    await velaServer.settled();
    // Measured before the audit rows below are loaded: they are the test's, not Sluice's.
    const heapAtEnd = await heapAfterGc();

    // Exactly one report per call, with the expected status.
    expect(reported).toBe(CALLS);
    expect(statuses.size).toBe(CALLS);
    expect(wrong).toEqual([]);

    // Every call has exactly one audit row (prepares = audit rows), with the call's status.
    const rows = velaServer.admin.audit({ tenant: tenantId });
    expect(rows).toHaveLength(CALLS);
    const rowsById = new Map(rows.map((r) => [r.executionId, r]));
    expect(rowsById.size).toBe(CALLS);
    const mismatched = [...statuses].filter(([executionId, status]) => rowsById.get(executionId)?.status !== STATUS_CODES[status]);
    expect(mismatched).toEqual([]);

    // Spans started = ended; no slot running or queued; heap flat.
    expect(telemetry.spanCounts()).toEqual({ started: CALLS, ended: CALLS });
    expect(limiter.stats()).toMatchObject({ running: 0, queued: 0 });
    if (process.env.SOAK_REPORT) console.log(`heap after 1,000: ${heapAtThousand}, after ${CALLS}: ${heapAtEnd}`);
    if (CALLS > 1_000) expect(heapAtEnd).toBeLessThan(heapAtThousand * 1.1);

    // Nothing secret in logs, plugin errors, caught errors (checked per batch), audit rows or diagnostics.
    checkSecrets();
    logs.push(JSON.stringify(rows), JSON.stringify(getVelaEnvironmentDiagnostics({ env: { VELA_APP_ID: appId, VELA_APP_TOKEN: `${appToken} `, VELA_BASE_URL: velaServer.url } })));
    checkSecrets();
    expect(relayKeysSeen).toBeGreaterThan(CALLS / 2);
    expect(pluginErrors).toEqual([]);

    await sluice.close();
    await velaServer.close();
    await upstream.close();
  }, 600_000);
});
