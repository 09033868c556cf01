// Why this file exists: rows 5 of the issue — heap Sluice adds per in-flight streamed call (many
// streams held open at a gate, wrapped minus bare, after full GCs), and that the heap stays flat
// over many completed calls (nothing per call is retained once it has been reported).
import { withTrace } from '@openai/agents';
import { createFakeLanguageModel, createFakeOpenAI, createGate, type FakeAnswer } from '../fakes.ts';
import { measured, settledHeap, stats } from '../harness.ts';
import { judge, type Row, type Target } from '../rows.ts';
import { agentsVariant, aiSdkVariant, openAIVariant, type OpsVariant, type SdkOps } from '../sdk-ops.ts';
import { createSetup, SETUP_LABEL, type Setup } from '../setups.ts';
import { noteCallerSignal } from '../timed-rows.ts';

export interface MemoryConfig {
  /** Streams held open at once. */
  inFlight: number;
  /** Measurements per variant (the median is reported). */
  rounds: number;
  /** Completed calls of the flat-heap row; the heap is read every `checkpoint` calls. */
  completed: number;
  checkpoint: number;
}

const IN_FLIGHT_TARGET: Target = { metric: 'added', op: '<=', value: 2, text: '≤ 2 KB' };

/** Holds `count` streams at the gate; returns the heap they hold, in KB per stream. */
async function heldKB(ops: SdkOps, answer: FakeAnswer, pauseAfter: number, count: number, settle: () => Promise<void>): Promise<number> {
  const gate = createGate(pauseAfter);
  answer.gate = gate;
  try {
    const before = await settledHeap();
    const held = [];
    for (let i = 0; i < count; i++) held.push(await ops.hold());
    const after = await settledHeap();
    gate.open();
    await Promise.all(held.map((h) => h.drain()));
    await settle();
    return (after - before) / count / 1024;
  } finally {
    answer.gate = undefined;
  }
}

/** Least-squares slope of y over x. */
function leastSquaresSlope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

interface SdkMemoryCase {
  sdk: 'openai' | 'agents' | 'ai-sdk';
  label: string;
  answer: FakeAnswer;
  /** Body frames (fetch) or parts (AI SDK) before the gate: the preamble and one delta. */
  pauseAfter: number;
  make(variant: OpsVariant): SdkOps;
}

export async function memoryRows(config: MemoryConfig): Promise<Row[]> {
  const fake = createFakeOpenAI({ deltas: 8 });
  const model = createFakeLanguageModel({ deltas: 8 });
  const setups = { none: createSetup('none'), full: createSetup('full') };
  const settle = async () => {
    await setups.none.sluice.idle();
    await setups.full.sluice.idle();
    setups.full.tidy();
  };
  const cases: SdkMemoryCase[] = [
    { sdk: 'openai', label: 'openai chat stream', answer: fake.answer, pauseAfter: 2, make: (v) => openAIVariant(fake, v) },
    { sdk: 'agents', label: 'Agents SDK Responses model stream', answer: fake.answer, pauseAfter: 5, make: (v) => agentsVariant(fake, v) },
    { sdk: 'ai-sdk', label: 'AI SDK streamText', answer: model.answer, pauseAfter: 4, make: (v) => aiSdkVariant(model, v) },
  ];
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      const variants: Array<[string, OpsVariant]> = [['bare', 'bare'], ...(c.sdk === 'ai-sdk' ? [] : [['bare-signal', 'bare-signal'] as [string, OpsVariant]]), ['none', setups.none], ['full', setups.full]];
      const ops = new Map(variants.map(([name, v]) => [name, c.make(v)]));
      const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
      await withTrace('bench', async () => {
        // Warm-up: JIT, SDK caches, lazily created pipeline state.
        for (const [name] of variants) await heldKB(ops.get(name)!, c.answer, c.pauseAfter, Math.min(50, config.inFlight), settle);
        for (let round = 0; round < config.rounds; round++) {
          for (let k = 0; k < variants.length; k++) {
            const [name] = variants[(round + k) % variants.length]!;
            samples.get(name)!.push(await heldKB(ops.get(name)!, c.answer, c.pauseAfter, config.inFlight, settle));
          }
        }
      });
      const bare = stats(samples.get('bare')!);
      const caseRows: Row[] = [];
      for (const [name] of variants) {
        const s = stats(samples.get(name)!);
        const row: Row = {
          id: `memory.${c.sdk}.${name}`,
          group: 'memory',
          scenario: `${c.label} held in flight, ${name === 'bare' ? 'bare' : name === 'bare-signal' ? 'bare, caller passes an AbortSignal' : SETUP_LABEL[name as Setup['kind']]}`,
          n: config.inFlight,
          unit: 'KB/call',
          ...measured(s, name === 'bare' ? undefined : { id: `memory.${c.sdk}.bare`, stats: bare }),
        };
        if (name !== 'bare' && name !== 'bare-signal') row.target = IN_FLIGHT_TARGET;
        caseRows.push(judge(row));
      }
      rows.push(...noteCallerSignal(caseRows));
    }

    // Flat heap: many completed streamed calls through every plugin; heap after GC every `checkpoint`
    // calls. Growth from the checkpoint to the end is read off a least-squares line through all the
    // readings, so one reading caught at a different plateau of a weak table does not decide it.
    const ops = openAIVariant(fake, setups.full);
    const readings: Array<[calls: number, heap: number]> = [];
    for (let i = 1; i <= config.completed; i++) {
      await ops.stream();
      if (i % 1000 === 0) {
        setups.full.tidy(); // the in-memory exporter's spans are not Sluice's heap
        // A server turns its event loop between requests; the in-memory fetch never does. Without a
        // turn, FinalizationRegistry cleanups (the openai SDK and AbortSignal.any register one per
        // request) never run, and their cells pile up as if leaked.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (i % config.checkpoint === 0) {
        await settle();
        readings.push([i, await settledHeap()]);
      }
    }
    const slope = leastSquaresSlope(readings); // bytes per call
    const growthKB = (slope * (config.completed - config.checkpoint)) / 1024;
    const first = readings[0]?.[1] ?? Number.NaN;
    const last = readings[readings.length - 1]?.[1] ?? Number.NaN;
    rows.push(
      judge({
        id: 'memory.flat',
        group: 'memory',
        scenario: `heap growth from ${config.checkpoint.toLocaleString('en-US')} to ${config.completed.toLocaleString('en-US')} completed openai chat streams, ${SETUP_LABEL.full}`,
        n: config.completed,
        samples: readings.length,
        unit: 'KB',
        median: growthKB,
        p99: growthKB,
        spread: 0,
        target: { metric: 'median', op: '<=', value: 1024, text: '≤ 1 MB (flat)' },
        note: `heap after GC: ${(first / 2 ** 20).toFixed(1)} MB at ${config.checkpoint.toLocaleString('en-US')} calls, ${(last / 2 ** 20).toFixed(1)} MB at ${config.completed.toLocaleString('en-US')}; fitted slope ${slope.toFixed(1)} B per call over ${readings.length} readings`,
      }),
    );
    return rows;
  } finally {
    await setups.none.close();
    await setups.full.close();
  }
}
