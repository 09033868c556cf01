// Why this file exists: the in-process limiter. Each call waits in `beforePrepare` — before
// authorization, so single-use relay credentials are never handed out to a call that then sits in a
// queue — until it holds a slot of every limit that applies to it, and gives them back in
// `onReport`, which fires exactly once whatever happens to the call.
import { SluiceConfigError, type ModelCall, type SluicePlugin } from '@sluice/core';
import { ConcurrencyClosedError, queueFullError } from './errors.ts';
import { KeyGate, type Waiter } from './key-gate.ts';
import { LIMIT_OPTION_KEYS, normalizeLimitOptions, priorityOf, rejectUnknownKeys, tenantKeyOf, type LimitKind, type LimitOptions, type NormalizedLimit, type NormalizedLimitOptions } from './limits.ts';
import { CONCURRENCY_STAGE, QUEUE_WAIT_MS_ATTRIBUTE, type ConcurrencyStats, type KeyStats } from './plugin-contract.ts';
import { WaitScope } from './wait-scope.ts';

/** The plugin's name: the tap name of its hooks and `decidedBy` of its denials. */
export const CONCURRENCY_PLUGIN_NAME = 'concurrency';

/** Options of {@link concurrency}. */
export type ConcurrencyOptions = LimitOptions;

/** The plugin returned by {@link concurrency}. */
export interface ConcurrencyPlugin extends SluicePlugin {
  readonly name: typeof CONCURRENCY_PLUGIN_NAME;
  /** Slots held and calls waiting, now. */
  stats(): ConcurrencyStats;
  /** Refuses new calls, ends every wait with `ConcurrencyClosedError` and drops all queues. */
  close(): Promise<void>;
}

/**
 * How an admission ends: the call admitted, or why not (tapable's callback convention; the reason
 * may be a non-Error abort reason, which the pipeline reports as the call's abort).
 */
type AdmitCallback = (error: Error | null, call?: ModelCall) => void;

/** The gates of every key in use, by kind; a gate is dropped when idle. */
class GateTable {
  readonly #config: NormalizedLimitOptions;
  /** How many limits apply to every call. */
  readonly #levels: number;
  readonly tenants = new Map<string, KeyGate>();
  readonly models = new Map<string, KeyGate>();
  global: KeyGate | undefined;
  readonly #drop = (gate: KeyGate): void => {
    if (gate.kind === 'global') {
      if (this.global === gate) this.global = undefined;
    } else {
      const map = this.#mapOf(gate.kind);
      if (map.get(gate.value) === gate) map.delete(gate.value);
    }
  };

  constructor(config: NormalizedLimitOptions) {
    this.#config = config;
    this.#levels = (config.perTenant ? 1 : 0) + (config.perModel ? 1 : 0) + (config.global ? 1 : 0);
  }

  /** The gates `call` needs, most specific first (tenant → model → global), created if missing. */
  gatesOf(call: ModelCall): KeyGate[] {
    const { perTenant, perModel, global } = this.#config;
    // Sized up front: an array grown by push() reserves room for 17 and is kept for the call's life.
    const gates = new Array<KeyGate>(this.#levels);
    let i = 0;
    if (perTenant) gates[i++] = this.#gate('tenant', tenantKeyOf(call, this.#config), perTenant);
    if (perModel) gates[i++] = this.#gate('model', call.model, perModel);
    if (global) gates[i] = this.#gate('global', '', global);
    return gates;
  }

  /** The gate now current for `gate`'s key (a key dropped while a call waited is made anew). */
  current(gate: KeyGate): KeyGate {
    return this.#gate(gate.kind, gate.value, gate.limit);
  }

  *all(): Iterable<KeyGate> {
    yield* this.tenants.values();
    yield* this.models.values();
    if (this.global) yield this.global;
  }

  clear(): void {
    for (const gate of this.all()) gate.clear();
    this.tenants.clear();
    this.models.clear();
    this.global = undefined;
  }

  /** The gate of one key, made when missing. */
  #gate(kind: LimitKind, value: string, limit: NormalizedLimit): KeyGate {
    if (kind === 'global') return (this.global ??= new KeyGate('global', '', limit, this.#drop));
    const map = this.#mapOf(kind);
    let gate = map.get(value);
    if (gate === undefined) map.set(value, (gate = new KeyGate(kind, value, limit, this.#drop)));
    return gate;
  }

  #mapOf(kind: 'tenant' | 'model'): Map<string, KeyGate> {
    return kind === 'tenant' ? this.tenants : this.models;
  }
}

/**
 * Limits concurrency, rate and queue length of model calls in this process — globally, per tenant
 * and per model — with one gate per key, created when a key is first used and dropped when idle. A
 * call whose keys are all free is admitted at once, without any waiting machinery.
 *
 * @example
 * const limiter = concurrency({ global: { concurrency: 32 }, perTenant: { concurrency: 4 }, maxQueue: 100, maxWaitMs: 30_000 });
 * const sluice = createPipeline({ plugins: [limiter, vela({ client })] });
 */
export function concurrency(options: ConcurrencyOptions): ConcurrencyPlugin {
  if (typeof options !== 'object' || options === null) {
    throw new SluiceConfigError('options', 'expected { global?, perTenant?, perModel?, key?, priority?, maxQueue?, maxWaitMs? }');
  }
  rejectUnknownKeys(options as Record<string, unknown>, LIMIT_OPTION_KEYS, '');
  const config = normalizeLimitOptions(options);
  const table = new GateTable(config);
  /** Admitted calls by id, with the gates they hold a slot of. */
  const admitted = new Map<string, KeyGate[]>();
  const waits = new Set<WaitScope>();
  let closed = false;

  const releaseAll = (held: readonly KeyGate[], count = held.length): void => {
    for (let i = count - 1; i >= 0; i--) held[i]!.release();
  };

  /**
   * A call that found a key busy: takes its slots most specific first, standing in one line at a
   * time, so a call waiting for its tenant holds no global slot. It is its own waiter.
   */
  class Admission extends WaitScope implements Waiter {
    readonly priority: number;
    readonly #call: ModelCall;
    readonly #gates: KeyGate[];
    /** Gates before this index are held; the one at it is being waited for. */
    #index = 0;
    readonly #startedAt = performance.now();
    /** Answers the hook once; dropped then (the call's controller keeps this object as its abort watcher until the call ends). */
    #done: AdmitCallback | undefined;

    constructor(call: ModelCall, gates: KeyGate[], priority: number, done: AdmitCallback) {
      super(call.signal, config.maxWaitMs, CONCURRENCY_PLUGIN_NAME);
      this.#call = call;
      this.#gates = gates;
      this.priority = priority;
      this.#done = done;
      waits.add(this);
      this.#proceed();
    }

    grant(): void {
      this.#index++;
      this.#proceed();
    }

    protected override onAbort(): void {
      const gate = this.#gates[this.#index];
      if (gate !== undefined && gate.remove(this)) this.#fail(this.failure(gate.level));
    }

    /** Takes free slots in order; stops in the first busy key's line, or finishes when all are held. */
    #proceed(): void {
      const gates = this.#gates;
      while (this.#index < gates.length) {
        // Looked up again: the key may have been dropped and made anew while the call waited.
        const gate = (gates[this.#index] = table.current(gates[this.#index]!));
        if (gate.isFree()) {
          gate.take();
          this.#index++;
          continue;
        }
        const { maxQueue } = config;
        if (maxQueue !== undefined && gate.waiting >= maxQueue) return this.#fail(queueFullError(gate.level, gate.waiting, CONCURRENCY_PLUGIN_NAME));
        if (this.aborted) return this.#fail(this.failure(gate.level));
        gate.enqueue(this); // may grant at once, which proceeds from there
        return;
      }
      this.end();
      waits.delete(this);
      if (closed) {
        releaseAll(gates);
        this.#answer(new ConcurrencyClosedError(CONCURRENCY_PLUGIN_NAME));
        return;
      }
      admitted.set(this.#call.id, gates);
      this.#call.attributes[QUEUE_WAIT_MS_ATTRIBUTE] = performance.now() - this.#startedAt;
      this.#answer(null, this.#call);
    }

    #answer(error: Error | null, call?: ModelCall): void {
      const done = this.#done;
      this.#done = undefined;
      done?.(error, call);
    }

    #fail(error: unknown): void {
      this.end();
      waits.delete(this);
      releaseAll(this.#gates, this.#index);
      for (let i = this.#index; i < this.#gates.length; i++) this.#gates[i]!.checkIdle();
      // A callback takes a falsy error for success: an abort reason like '' must still end the call.
      this.#answer((error || new Error(`the wait for a concurrency slot ended: ${String(error)}`)) as Error);
    }
  }

  /** Admits `call` — in this turn when all its keys are free — or lets it wait; `done` tells the hook. */
  const admit = (call: ModelCall, done: AdmitCallback): void => {
    let gates: KeyGate[];
    let priority: number;
    try {
      if (closed) throw new ConcurrencyClosedError(CONCURRENCY_PLUGIN_NAME);
      gates = table.gatesOf(call);
      priority = priorityOf(call, config);
    } catch (error) {
      done(error as Error);
      return;
    }
    for (const gate of gates) {
      if (!gate.isFree()) {
        new Admission(call, gates, priority, done);
        return;
      }
    }
    for (const gate of gates) gate.take();
    admitted.set(call.id, gates);
    call.attributes[QUEUE_WAIT_MS_ATTRIBUTE] = 0;
    done(null, call);
  };

  return {
    name: CONCURRENCY_PLUGIN_NAME,
    apply(hooks) {
      // A callback tap: an admission without a wait answers in the same turn, with no promise.
      hooks.beforePrepare.tapAsync({ name: CONCURRENCY_PLUGIN_NAME, stage: CONCURRENCY_STAGE }, admit);
      hooks.onReport.tap(CONCURRENCY_PLUGIN_NAME, (call) => {
        const held = admitted.get(call.id);
        if (!held) return; // never admitted: denied, failed or aborted before or while waiting
        admitted.delete(call.id);
        releaseAll(held);
      });
    },
    stats() {
      const keys: Record<string, KeyStats> = {};
      for (const gate of table.all()) keys[gate.level.name] = { running: gate.running, queued: gate.waiting };
      return { running: admitted.size, queued: waits.size, keys };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const wait of waits) wait.close(CONCURRENCY_PLUGIN_NAME);
      for (const held of admitted.values()) releaseAll(held);
      admitted.clear();
      table.clear();
    },
  };
}
