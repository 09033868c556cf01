// Why this file exists: the demo shows what the pipeline does to each model call as it happens;
// this small plugin prints one line per lifecycle step (queued → authorized → streaming → reported).
import type { ModelCall, Outcome, SluicePlugin, Usage } from '@sluice/core';

const NAME = 'demo-lifecycle-printer';

function tokens(usage: Usage | undefined): string {
  if (!usage) return 'no usage reported';
  const cached = usage.cachedInputTokens ? ` (${usage.cachedInputTokens} cached)` : '';
  return `${usage.inputTokens ?? '?'} in${cached} / ${usage.outputTokens ?? '?'} out tokens`;
}

function describeOutcome(outcome: Outcome): string {
  const ms = `${outcome.durationMs.toFixed(0)} ms`;
  switch (outcome.status) {
    case 'completed':
      return `completed · ${tokens(outcome.usage)} · finish ${outcome.finishReason ?? '?'} · ${ms}`;
    case 'failed':
      return `failed · ${outcome.error.type}: ${outcome.error.message} · ${ms}`;
    case 'aborted':
      return `aborted · ${outcome.reason} · ${ms}`;
    case 'denied':
      return `denied · ${outcome.denial.code}: ${outcome.denial.message}`;
  }
}

/** Prints the lifecycle of every call with `write` (default: stdout, each line prefixed with the call number). */
export function lifecyclePrinter(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): SluicePlugin {
  const numbers = new WeakMap<ModelCall, number>();
  const streaming = new WeakSet<ModelCall>();
  let next = 0;
  const label = (call: ModelCall) => `  [call ${numbers.get(call) ?? '?'}]`;
  return {
    name: NAME,
    apply(hooks) {
      hooks.beforePrepare.tap({ name: NAME, stage: -100 }, (call) => {
        numbers.set(call, ++next);
        write(`${label(call)} queued     ${call.source}/${call.api} slot=${call.slot?.slotId ?? '-'} model=${call.model}`);
        return call;
      });
      hooks.onAllow.tap(NAME, (call, allow) => {
        write(`${label(call)} authorized ${allow.decidedBy ? `by ${allow.decidedBy}` : '(no authorizer registered: allowed as-is)'}`);
      });
      hooks.onDeny.tap(NAME, (call, denial) => write(`${label(call)} denied     ${denial.code}`));
      hooks.onEvent.tap(NAME, (call) => {
        if (streaming.has(call)) return;
        streaming.add(call);
        write(`${label(call)} streaming`);
      });
      hooks.onReport.tap(NAME, (call, outcome) => write(`${label(call)} reported   ${describeOutcome(outcome)}`));
    },
  };
}
