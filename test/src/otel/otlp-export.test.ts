// startOtel() against a real OTLP/HTTP endpoint: the exporters' own payloads, decoded.
import { wrapOpenAI } from '@sluice/core/openai';
import { otel } from '@sluice/plugin-otel';
import { startOtel } from '@sluice/plugin-otel/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../otlp-receiver.ts';
import { FAKE_USAGE } from '../support/scenario.ts';
import { secretsOf, startVelaWorld, type VelaWorld } from '../vela/vela-harness.ts';

let receiver: OtlpReceiver;
let world: VelaWorld;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  world = await startVelaWorld({ budgetUsd: 5 });
});
afterAll(async () => {
  await world.close();
  await receiver.close();
});

describe('startOtel → OTLP/HTTP', () => {
  it('exports the call spans and GenAI metrics with the resource and attributes, and no secret', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    const telemetry = startOtel({ serviceName: 'sluice-otlp-test', serviceVersion: '1.2.3', resourceAttributes: { 'deployment.environment.name': 'test' }, metricExportIntervalMillis: 3_600_000 });
    world.sluice.use(otel());
    world.upstream.setScript([{ text: 'Exported answer.', usage: FAKE_USAGE }, { text: 'x', fault: { kind: 'status', status: 500, message: 'upstream down' } }]);
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
    const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _c of stream) {
      // drain
    }
    await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'fail' }] }).catch(() => undefined);
    await world.sluice.idle();
    await telemetry.shutdown();

    expect(receiver.contentTypes.every((t) => t.includes('application/json'))).toBe(true);
    const chats = receiver.spans.filter((s) => s.name === 'chat gpt-fake');
    expect(chats).toHaveLength(2);
    const [ok, failed] = chats;
    expect(ok!.resource).toMatchObject({ 'service.name': 'sluice-otlp-test', 'service.version': '1.2.3', 'deployment.environment.name': 'test' });
    expect(ok!.kind).toBe(3); // OTLP SPAN_KIND_CLIENT
    expect(ok!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-fake',
      'gen_ai.usage.input_tokens': 21,
      'gen_ai.usage.output_tokens': 9,
      'sluice.tenant.id': world.tenantId,
      'sluice.authorization.outcome': 'allow',
      'server.address': '127.0.0.1',
    });
    expect(ok!.attributes['sluice.vela.execution_id']).toMatch(/^ex_/);
    expect(ok!.events.map((e) => e.name)).toEqual(['sluice.authorization', 'sluice.first_chunk']);
    expect(failed!.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(failed!.attributes['error.type']).toBe('InternalServerError');

    const metric = (name: string) => receiver.points.filter((p) => p.metric === name);
    expect(metric('gen_ai.client.operation.duration').reduce((n, p) => n + (p.count ?? 0), 0)).toBe(2);
    expect(metric('gen_ai.client.operation.duration')[0]!.unit).toBe('s');
    // Metric points carry the span's GenAI attributes: the failed call its error.type, the other none.
    const durations = metric('gen_ai.client.operation.duration');
    expect(durations.every((p) => p.attributes['gen_ai.operation.name'] === 'chat' && p.attributes['gen_ai.request.model'] === 'gpt-fake')).toBe(true);
    expect(durations.map((p) => p.attributes['error.type'] ?? null).sort()).toEqual(['InternalServerError', null]);
    // …and the completed call its response model, the failed one none.
    expect(durations.map((p) => p.attributes['gen_ai.response.model'] ?? null).sort()).toEqual(['gpt-fake', null]);
    const tokens = metric('gen_ai.client.token.usage');
    expect(tokens.map((p) => [p.attributes['gen_ai.token.type'], p.sum]).sort()).toEqual([
      ['input', 21],
      ['output', 9],
    ]);
    expect(metric('gen_ai.client.operation.time_to_first_chunk').length).toBeGreaterThan(0);
    expect(tokens[0]!.resource['service.name']).toBe('sluice-otlp-test');

    expect(world.relayKeys).toHaveLength(2);
    const payloads = receiver.bodies.join('\n');
    for (const secret of secretsOf(world)) expect(payloads).not.toContain(secret);
  });
});
