// Why this file exists: per-call and per-event rows are all "time these variants, interleaved,
// against the bare one" — the measuring and the turning of samples into rows, once.
import { balancedOrders, interleave, measured, scale, stats } from './harness.ts';
import type { HeldStream } from './sdk-ops.ts';
import { judge, type Row, type Target } from './rows.ts';

export interface TimedVariant {
  /** `bare` is the baseline of the others. */
  name: string;
  scenario: string;
  run(): Promise<unknown>;
  target?: Target;
  note?: string;
}

export interface TimedRowsSpec {
  group: Row['group'];
  /** Row ids are `${idPrefix}.${variant.name}`. */
  idPrefix: string;
  /** Operations per timed run (1 call; N events of one stream). */
  n: number;
  unit: string;
  /** Milliseconds per timed run → one `unit` per operation. */
  factor: number;
  variants: readonly TimedVariant[];
  warmup: number;
  /** Recorded iterations, over all rounds. */
  iterations: number;
  /**
   * Rounds the recorded iterations are split into, one after the other (default 1; the warm-up runs
   * before the first only). One long interleaving measures one state of the process precisely; the
   * same code reads several µs per call apart between states (how much of the old generation is
   * being marked, what the JIT has settled on), so rounds sample several states.
   */
  rounds?: number;
  between?: () => void | Promise<void>;
}

/**
 * Interleaves the variants and returns one row per variant. `added` is the median of the paired
 * differences (variant − bare in the same iteration: what slows the whole iteration down cancels
 * out), with a ~95% confidence half-width `addedCi` (1.58 × IQR / √n, the box-plot notch). Over
 * several rounds, `added` is the median of the rounds' medians (each in `addedRounds`) and `addedCi`
 * is widened to cover every round's median: the uncertainty is then what changes between rounds,
 * not only the sampling within one.
 */
export async function timedRows(spec: TimedRowsSpec): Promise<Row[]> {
  const rounds = Math.max(1, Math.floor(spec.rounds ?? 1));
  const perRound = Math.ceil(spec.iterations / rounds);
  const variants = spec.variants.map((v) => ({ name: v.name, run: () => v.run() }));
  /** Per variant, the samples of each round, in `unit` per operation. */
  const byRound = new Map<string, number[][]>(spec.variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    const samples = await interleave(variants, { warmup: round === 0 ? spec.warmup : 0, iterations: perRound, between: spec.between });
    for (const [name, values] of samples) byRound.get(name)!.push(scale(values, spec.factor / spec.n));
  }
  return rowsOf(spec, byRound);
}

/** What names a row and says what it is measured against: the spec fields both kinds of rows share. */
type RowSpec = Pick<TimedRowsSpec, 'group' | 'idPrefix' | 'n' | 'unit'> & { variants: ReadonlyArray<Pick<TimedVariant, 'name' | 'scenario' | 'target' | 'note'>> };

/**
 * One row per variant from its samples, round by round (already in `unit`). A sample is paired with
 * the bare variant's sample at the same place in the same round.
 */
function rowsOf(spec: RowSpec, byRound: ReadonlyMap<string, number[][]>): Row[] {
  const bare = byRound.get('bare');
  const bareStats = bare ? stats(bare.flat()) : undefined;
  return spec.variants.map((variant) => {
    const perRoundValues = byRound.get(variant.name)!;
    const values = perRoundValues.flat();
    const s = stats(values);
    const row: Row = {
      id: `${spec.idPrefix}.${variant.name}`,
      group: spec.group,
      scenario: variant.scenario,
      n: spec.n,
      unit: spec.unit,
      ...measured(s),
    };
    if (bare && bareStats && variant.name !== 'bare') {
      const roundDiffs = perRoundValues.map((roundValues, r) => roundValues.map((v, i) => v - bare[r]![i]!));
      const diffs = stats(roundDiffs.flat());
      row.baseline = `${spec.idPrefix}.bare`;
      row.baselineMedian = bareStats.median;
      row.ratio = s.median / bareStats.median;
      const notch = (1.58 * (diffs.q3 - diffs.q1)) / Math.sqrt(diffs.n);
      if (perRoundValues.length === 1) {
        row.added = diffs.median;
        row.addedCi = notch;
      } else {
        const medians = roundDiffs.map((d) => stats(d).median);
        const added = stats(medians).median;
        row.added = added;
        row.addedCi = Math.max(notch, ...medians.map((m) => Math.abs(m - added)));
        row.addedRounds = medians;
      }
    }
    if (variant.target) row.target = variant.target;
    if (variant.note) row.note = variant.note;
    return judge(row);
  });
}

/** A variant of a long-stream row: one stream per round, read in blocks. */
export interface BlockVariant extends Omit<TimedVariant, 'run'> {
  /** Starts a stream and reads its first text delta. */
  open(): Promise<HeldStream>;
}

export interface BlockRowsSpec {
  group: Row['group'];
  idPrefix: string;
  /** Text deltas per stream. */
  n: number;
  /** Deltas per timed block. */
  block: number;
  /** Blocks at the start of every stream that are read but not recorded. */
  warmupBlocks: number;
  /** Streams per variant, one round each. */
  streams: number;
  variants: readonly BlockVariant[];
  between?: () => void | Promise<void>;
}

/**
 * Rows of long streams in ns per text delta, the streams of all variants open side by side and read
 * in turns of `block` deltas (in the balanced orders of {@link balancedOrders}). Timing whole long
 * streams one after another leaves a handful of samples, each at a different moment of the process
 * (a full GC, the JIT, the machine's load), and their differences vary by microseconds per event;
 * here every block of a variant is paired with the bare stream's block read at the same point of the
 * same round, so what slows that moment down cancels out, and a stream's cost is followed along its
 * whole length. A stream's end (its settlement) is in no block. Rows as {@link timedRows}, one round
 * per stream.
 */
export async function blockRows(spec: BlockRowsSpec): Promise<Row[]> {
  const byRound = new Map<string, number[][]>(spec.variants.map((v) => [v.name, []]));
  const orders = balancedOrders(spec.variants.length);
  for (let round = 0; round < spec.streams; round++) {
    const streams: HeldStream[] = [];
    for (const variant of spec.variants) streams.push(await variant.open());
    const samples = spec.variants.map(() => [] as number[]);
    // The first delta was read when the stream was opened.
    let read = 1;
    for (let block = 0; ; block++) {
      const order = orders[block % orders.length]!;
      let seen: number | undefined;
      for (const k of order) {
        const variant = spec.variants[k]!;
        const started = performance.now();
        const count = await streams[k]!.read(spec.block);
        const elapsed = performance.now() - started;
        if (seen === undefined) seen = count;
        else if (count !== seen) throw new Error(`${variant.scenario}: ${count} text deltas in block ${block}, the other streams ${seen}`);
        if (count > 0 && block >= spec.warmupBlocks) samples[k]!.push((elapsed * 1e6) / count);
      }
      if (seen === 0) break;
      read += seen!;
      await spec.between?.();
    }
    if (read !== spec.n) throw new Error(`${spec.idPrefix}: the streams carried ${read} text deltas, expected ${spec.n}`);
    spec.variants.forEach((variant, k) => byRound.get(variant.name)!.push(samples[k]!));
  }
  return rowsOf({ ...spec, unit: 'ns/event' }, byRound);
}

/**
 * The `bare-signal` row is a reference, not part of Sluice's cost: what the bare SDK spends when its
 * caller passes an AbortSignal (the `openai` client composes it with each request's controller by
 * `AbortSignal.any`; streams then check the composite per chunk). Sluice passes every request its
 * call's own signal but binds the request to the call's controller instead (no composition, no
 * listener), so the other rows do not pay it.
 */
export function noteCallerSignal(rows: Row[]): Row[] {
  const signal = rows.find((r) => r.id.endsWith('.bare-signal'));
  if (signal) signal.note = 'the bare SDK composing a caller\'s signal per request (AbortSignal.any); Sluice binds each request to its call\'s controller instead';
  return rows;
}
