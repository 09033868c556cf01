// Why this file exists: the demo registers ONE plugin on the orchestrator and it sees every model
// call of every node, whichever SDK made it; this one prints a line per call when it is reported,
// with the node that made it (the adapters tag calls with `mesh.node.id`).
import type { ModelCall, Outcome, SluicePlugin } from '@sluice/core';
import { NODE_ID_ATTRIBUTE } from './node-adapters.ts';

const NAME = 'mesh-call-printer';

function describe(outcome: Outcome): string {
  switch (outcome.status) {
    case 'completed':
      return `completed · ${outcome.usage?.totalTokens ?? '?'} tokens · finish ${outcome.finishReason ?? '?'}`;
    case 'failed':
      return `failed · ${outcome.error.message}`;
    case 'aborted':
      return `aborted · ${outcome.reason}`;
    case 'denied':
      return `denied · ${outcome.denial.code}`;
  }
}

/** The node a call was made for, from the attribute the adapters set. */
export function nodeOfCall(call: ModelCall): string {
  const node = call.attributes[NODE_ID_ATTRIBUTE];
  return typeof node === 'string' ? node : '?';
}

/** A plugin printing one line per model call (when it is reported), numbered in the order calls started. */
export function callPrinter(write: (line: string) => void): SluicePlugin & { readonly calls: number } {
  const numbers = new WeakMap<ModelCall, number>();
  let calls = 0;
  return {
    name: NAME,
    get calls() {
      return calls;
    },
    apply(hooks) {
      hooks.beforePrepare.tap({ name: NAME, stage: -100 }, (call) => {
        numbers.set(call, ++calls);
        return call;
      });
      hooks.onReport.tap(NAME, (call, outcome) => {
        write(`  · model call ${numbers.get(call) ?? '?'} · node ${nodeOfCall(call)} · ${call.source}/${call.api} · ${describe(outcome)}`);
      });
    },
  };
}
