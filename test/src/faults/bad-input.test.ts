// Bad input to every public API: a typed error that names the problem, no crash, nothing sent,
// no state change. (The dev server's endpoints have their own table in plugins/vela.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPipeline, ExecutionDeniedError, SluiceConfigError, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { createSluiceModel } from '@sluice/core/ai-sdk';
import { wrapOpenAI } from '@sluice/core/openai';
import { concurrency } from '@sluice/plugin-concurrency';
import { otel } from '@sluice/plugin-otel';
import { createVelaClient, createVelaIntegration, vela } from '@sluice/plugin-vela';
import { createOpenAIChatTranslator, validateVelStream, vel } from '@sluice/plugin-vel';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../fake-model-server.ts';
import { SLOT } from '../support/scenario.ts';

let upstream: FakeModelServer;
beforeAll(async () => {
  upstream = await startFakeModelServer();
});
afterAll(() => upstream.close());

const client = () => createVelaClient({ appId: 'app', appToken: 'vat_bad_input_0123456789' });

describe('constructors reject bad options with SluiceConfigError naming the field', () => {
  it.each([
    ['createPipeline plugins', () => createPipeline({ plugins: 'vela' as never }), 'plugins'],
    ['createPipeline onPluginError', () => createPipeline({ onPluginError: 5 as never }), 'onPluginError'],
    ['pipeline.use(null)', () => createPipeline().use(null as never), 'plugin'],
    ['wrapOpenAI(null)', () => wrapOpenAI(null as never, createPipeline()), 'client'],
    ['createModelProvider slots', () => createModelProvider(createPipeline(), { slots: 'agent' as never }), 'slots'],
    ['createModelProvider slot id', () => createModelProvider(createPipeline(), { slots: [{ ...SLOT, slotId: '' }] }), 'slots[0].slotId'],
    ['createModelProvider defaultSlot', () => createModelProvider(createPipeline(), { slots: [SLOT], defaultSlot: 'nope' }), 'defaultSlot'],
    ['createSluiceModel model', () => createSluiceModel(createPipeline(), {} as never), 'model'],
    ['vela client', () => vela({} as never), 'client'],
    ['vela failMode', () => vela({ client: client(), failMode: 'sometimes' as never }), 'failMode'],
    ['createVelaClient baseUrl', () => createVelaClient({ baseUrl: 'not a url', appId: 'a', appToken: 't' }), 'baseUrl'],
    ['createVelaClient appToken', () => createVelaClient({ appId: 'a', appToken: '' }), 'appToken'],
    ['createVelaIntegration scope', () => createVelaIntegration({ client: client(), executionScope: { customerTenantId: 5 } as never }), 'executionScope'],
    ['concurrency negative limit', () => concurrency({ perTenant: { concurrency: -1 } }), 'perTenant.concurrency'],
    ['concurrency typo', () => concurrency({ perTenent: { concurrency: 1 } } as never), 'perTenent'],
    ['otel semconv', () => otel({ semconv: '1.99' as never }), 'semconv'],
    ['vel onEvents', () => vel({ onEvents: 'log' as never }), 'onEvents'],
  ])('%s', (_name, make, field) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceConfigError);
    expect((error as SluiceConfigError).field).toBe(field);
    expect((error as Error).message).toMatch(/^Invalid /);
  });
});

describe('calls with bad arguments fail before anything is sent', () => {
  it.each([
    ['a body without a model', { messages: [] }, 'body.model'],
    ['a model that is not a string', { model: 42, messages: [] }, 'body.model'],
    ['no body at all', null, 'body'],
  ])('wrapOpenAI chat.completions.create with %s', async (_name, body, field) => {
    const sluice = createPipeline();
    const before = upstream.requests.length;
    const error = await wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: upstream.baseURL, maxRetries: 0 }), sluice).chat.completions.create(body as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceConfigError);
    expect((error as SluiceConfigError).field).toBe(field);
    expect(upstream.requests.length).toBe(before);
  });

  it('an unknown model slot names the known ones; a huge payload is refused by the relay without a crash', async () => {
    const provider = createModelProvider(createPipeline(), { slots: [SLOT] });
    expect(() => provider.getModel('gpt-4o')).toThrow('unknown model slot "gpt-4o"; known slots: "agent"');
    const integration = createVelaIntegration({ client: client(), executionScope: { customerTenantId: 't', delegationId: 'd' }, modelSlot: SLOT });
    await expect(integration.prepareExecutionWithResponse({ estimatedCostUsd: Number.POSITIVE_INFINITY })).rejects.toThrow('Invalid estimatedCostUsd');
  });
});

describe('hostile data from the network', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      // A Vela impostor answering with prototype-pollution keys and invalid UTF-8 in a reason.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat([Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"outcome":"deny","executionId":"ex_1","reason":{"code":"tenant_suspended","message":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('prototype-pollution keys and invalid UTF-8 in a Vela answer: parsed as data, no pollution, a clean denial', async () => {
    const sluice = createPipeline({ plugins: [vela({ client: createVelaClient({ baseUrl: url, appId: 'a', appToken: 'vat_bad_input_0123456789' }) })] });
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: upstream.baseURL, maxRetries: 0 }), sluice, { scope: { customerTenantId: 't', delegationId: 'd' } });
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect((error as ExecutionDeniedError).reasonCode).toBe('tenant_suspended');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('translators and the validator take anything without throwing', () => {
    const translator = createOpenAIChatTranslator();
    const events = [];
    for (const junk of [undefined, null, 0, 'data: [DONE]', [], { choices: 'x' }, { __proto__: { polluted: 1 } }, { choices: [{ delta: { tool_calls: [{ index: 'x' }] } }] }]) {
      events.push(...translator.push(junk));
    }
    events.push(...translator.finish());
    expect(validateVelStream(events)).toEqual({ valid: true });
    expect(translator.state.skipped.length).toBeGreaterThan(4);
    expect(validateVelStream('nope' as never)).toMatchObject({ valid: false, index: -1 });
  });

  it('a plugin that throws on every hook cannot crash the process', async () => {
    const hostile: SluicePlugin = {
      name: 'hostile',
      apply(hooks) {
        hooks.onEvent.tap('hostile', () => {
          throw new TypeError('x');
        });
        hooks.onReport.tap('hostile', () => {
          throw 'a string';
        });
        hooks.onDeny.tap('hostile', () => {
          throw undefined;
        });
      },
    };
    const errors: string[] = [];
    const sluice = createPipeline({ plugins: [hostile], onPluginError: (e) => void errors.push(e.message) });
    const stream = await wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: upstream.baseURL, maxRetries: 0 }), sluice).chat.completions.create({ model: 'gpt-fake', messages: [], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    await sluice.idle();
    expect(text).toBe('Hello from the fake model.');
    expect(errors.some((m) => m.includes('a string'))).toBe(true);
  });
});
