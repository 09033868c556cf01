// Why this file exists: the integration tests share one scenario — a weather agent that calls two
// tools over three model calls — and the same exact usage numbers, so assertions can compare them.
import type { ModelSlot, Usage } from '@sluice/core';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeModelServer, toolLoopScript, type FakeModelServer, type FakeToolCall, type FakeUsage } from '../fake-model-server.ts';

export const SLOT: ModelSlot = { slotId: 'agent', label: 'Weather agent', selectionMode: 'locked', requiredModel: 'openai/gpt-fake' };

export const FAKE_USAGE: FakeUsage = { inputTokens: 21, outputTokens: 9, cachedInputTokens: 5, reasoningTokens: 4 };

/** {@link FAKE_USAGE} as Sluice normalizes it. */
export const NORMALIZED_USAGE: Usage = {
  inputTokens: 21,
  outputTokens: 9,
  totalTokens: 30,
  cachedInputTokens: 5,
  cacheWriteInputTokens: undefined,
  reasoningTokens: 4,
};

export const TOOL_TURNS: FakeToolCall[][] = [
  [{ id: 'call_weather', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  [{ id: 'call_time', name: 'get_time', arguments: '{"city":"Paris"}' }],
];

export const FINAL_TEXT = 'It is sunny and 22°C in Paris, and the local time is 14:05.';

export const SCOPE_A = { customerTenantId: 't_alpha', delegationId: 'd_alpha' };
export const SCOPE_B = { customerTenantId: 't_beta', delegationId: 'd_beta' };

/**
 * Registers the fake model server a scenario test file shares: started once, reset before each test
 * and scripted with the scenario's tool loop ({@link TOOL_TURNS}, {@link FINAL_TEXT}, {@link FAKE_USAGE}).
 * Returns a getter (the server exists from `beforeAll` on).
 */
export function useScenarioServer(): () => FakeModelServer {
  let server: FakeModelServer | undefined;
  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    server?.reset();
    server?.setScript(toolLoopScript({ toolCalls: TOOL_TURNS, finalText: FINAL_TEXT, usage: FAKE_USAGE }));
  });
  return () => {
    if (!server) throw new Error('the fake model server starts in beforeAll: use it inside a test');
    return server;
  };
}
