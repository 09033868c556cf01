// Why this file exists: the lifecycle tests assert the order of hooks per call; this plugin records
// every hook a call goes through, and counts calls in flight the way a slot-holding plugin would.
import type { Allow, Denial, ModelCall, Outcome, SluicePlugin, StreamEvent } from '@sluice/core';

/** One recorded hook firing. */
export type HookRecord =
  | { hook: 'beforePrepare' | 'prepare'; callId: string }
  | { hook: 'onAllow'; callId: string; allow: Allow }
  | { hook: 'onDeny'; callId: string; denial: Denial }
  | { hook: 'onEvent'; callId: string; event: StreamEvent }
  | { hook: 'onReport'; callId: string; outcome: Outcome };

/** A plugin that records hooks in order, per call, plus an in-flight counter (+1 beforePrepare, -1 onReport). */
export interface RecordingPlugin extends SluicePlugin {
  readonly records: HookRecord[];
  readonly calls: ModelCall[];
  /** Calls between beforePrepare and onReport right now. */
  inFlight: number;
  /** Hook names for one call, in order, with consecutive onEvent collapsed to `onEvent×N`. */
  sequence(callId: string): string[];
  reports(): Array<{ call: ModelCall; outcome: Outcome }>;
}

export function recordingPlugin(name = 'recorder'): RecordingPlugin {
  const records: HookRecord[] = [];
  const calls: ModelCall[] = [];
  const plugin: RecordingPlugin = {
    name,
    records,
    calls,
    inFlight: 0,
    apply(hooks) {
      hooks.beforePrepare.tapPromise(name, async (call) => {
        plugin.inFlight++;
        calls.push(call);
        records.push({ hook: 'beforePrepare', callId: call.id });
        return call;
      });
      hooks.prepare.tapPromise(name, async (call) => {
        records.push({ hook: 'prepare', callId: call.id });
        return undefined;
      });
      hooks.onAllow.tapPromise(name, async (call, allow) => {
        records.push({ hook: 'onAllow', callId: call.id, allow });
      });
      hooks.onDeny.tapPromise(name, async (call, denial) => {
        records.push({ hook: 'onDeny', callId: call.id, denial });
      });
      hooks.onEvent.tap(name, (call, event) => {
        records.push({ hook: 'onEvent', callId: call.id, event });
      });
      hooks.onReport.tapPromise(name, async (call, outcome) => {
        plugin.inFlight--;
        records.push({ hook: 'onReport', callId: call.id, outcome });
      });
    },
    sequence(callId) {
      const out: string[] = [];
      let events = 0;
      for (const record of records) {
        if (record.callId !== callId) continue;
        if (record.hook === 'onEvent') {
          events++;
          continue;
        }
        if (events > 0) {
          out.push(`onEvent×${events}`);
          events = 0;
        }
        out.push(record.hook === 'onReport' ? `onReport(${record.outcome.status})` : record.hook);
      }
      if (events > 0) out.push(`onEvent×${events}`);
      return out;
    },
    reports() {
      return records.flatMap((r) => (r.hook === 'onReport' ? [{ call: calls.find((c) => c.id === r.callId)!, outcome: r.outcome }] : []));
    },
  };
  return plugin;
}

/** A plugin whose `prepare` answers with `decision` for every call. */
export function decidingPlugin(decision: Denial | Allow, name = 'authorizer'): SluicePlugin {
  return {
    name,
    apply(hooks) {
      hooks.prepare.tapPromise(name, async () => ({ ...decision }));
    },
  };
}

/** Asserts the shape `beforePrepare, prepare, onAllow, onEvent×N (N ≥ min), onReport(status)` and returns N. */
export function eventCount(sequence: string[]): number {
  const entry = sequence.find((s) => s.startsWith('onEvent×'));
  return entry ? Number(entry.slice('onEvent×'.length)) : 0;
}
