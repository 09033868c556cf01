import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onCallAbort } from './call-abort.ts';
import { createPipeline } from './pipeline.ts';

const init = { source: 'openai', api: 'chat_completions', stream: false, model: 'gpt-test' } as const;

describe('onCallAbort', () => {
  it("a call's signal keeps its watchers on the call's controller: each told once, in order, with no event listener", async () => {
    const sluice = createPipeline();
    const active = await sluice.startCall(init);
    const told: string[] = [];
    onCallAbort(active.call.signal, { handleEvent: () => told.push(`first:${active.call.signal.aborted}`) });
    onCallAbort(active.call.signal, { handleEvent: () => told.push('second') });
    expect(getEventListeners(active.call.signal, 'abort')).toHaveLength(0);
    expect(told).toEqual([]);
    active.abort('stop');
    active.abort('again');
    expect(told).toEqual(['first:true', 'second']);
  });

  it("a caller's abort reaches the watchers through the call's controller", async () => {
    const sluice = createPipeline();
    const caller = new AbortController();
    const active = await sluice.startCall({ ...init, signal: caller.signal });
    let told = 0;
    onCallAbort(active.call.signal, { handleEvent: () => told++ });
    caller.abort(new Error('user left'));
    expect(told).toBe(1);
    expect(active.call.signal.reason).toEqual(new Error('user left'));
  });

  it('any other signal gets a once abort listener', () => {
    const controller = new AbortController();
    let told = 0;
    onCallAbort(controller.signal, { handleEvent: () => told++ });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(told).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
