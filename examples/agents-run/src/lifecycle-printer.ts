// Why this file exists: the demo shows what the pipeline does to each model call as it happens —
// one live line per call: queued → authorized → streaming → reported (tokens, cost, time).
import type { ModelCall, Outcome, SluicePlugin, Usage } from '@sluice/core';
import type { Terminal } from './terminal.ts';

const NAME = 'demo-lifecycle-printer';

function tokens(usage: Usage | undefined): string {
  if (!usage) return 'no usage reported';
  const cached = usage.cachedInputTokens ? ` (${usage.cachedInputTokens} cached)` : '';
  return `${usage.inputTokens ?? '?'} in${cached} / ${usage.outputTokens ?? '?'} out tokens`;
}

function describeOutcome(outcome: Outcome, cost: number | undefined): string {
  const ms = `${outcome.durationMs.toFixed(0)} ms`;
  switch (outcome.status) {
    case 'completed':
      return `reported completed · ${tokens(outcome.usage)}${cost !== undefined ? ` · $${cost.toFixed(6)}` : ''} · ${ms}`;
    case 'failed':
      return `reported failed · ${outcome.error.type}: ${outcome.error.message} · ${ms}`;
    case 'aborted':
      return `reported aborted · ${outcome.reason} · ${ms}`;
    case 'denied':
      return `denied before the model was asked (${outcome.denial.code}: ${outcome.denial.message})`;
  }
}

/** Prints the lifecycle of every call on `terminal`. Taps late (stage 100) so it sees what the others decided. */
export function lifecyclePrinter(
  terminal: Terminal,
  costUsd: (call: ModelCall, outcome: Extract<Outcome, { status: 'completed' }>) => number | undefined = (_call, outcome) => outcome.costUsd,
): SluicePlugin & { calls(): number } {
  const numbers = new WeakMap<ModelCall, number>();
  const streaming = new WeakSet<ModelCall>();
  let next = 0;
  const say = (call: ModelCall, text: string) => {
    const n = numbers.get(call) ?? 0;
    terminal.append(`call-${n}`, `  [call ${n}] ${text}`, ` → ${text}`);
  };
  return {
    name: NAME,
    calls: () => next,
    apply(hooks) {
      hooks.beforePrepare.tap({ name: NAME, stage: -2000 }, (call) => {
        numbers.set(call, ++next);
        say(call, `queued (${call.source}/${call.api}, slot ${call.slot?.slotId ?? '-'})`);
        return call;
      });
      hooks.onAllow.tap({ name: NAME, stage: 100 }, (call, allow) => {
        say(call, `authorized${allow.executionId ? ` (${allow.executionId})` : ''}`);
      });
      hooks.onEvent.tap({ name: NAME, stage: 100 }, (call) => {
        if (streaming.has(call)) return;
        streaming.add(call);
        say(call, 'streaming');
      });
      hooks.onReport.tap({ name: NAME, stage: 100 }, (call, outcome) => {
        say(call, describeOutcome(outcome, outcome.status === 'completed' ? costUsd(call, outcome) : undefined));
        terminal.endLine();
      });
    },
  };
}
