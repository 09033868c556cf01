// Why this file exists: the in-process limiter sits on every model call, and most calls find their
// keys free. A key here is a counter, a line of waiters ordered by priority, and — only for a rate
// limit — the start times still inside the window, so an uncontended call takes its slots with a
// few comparisons and no promise, timer or listener; only a call that must wait pays for waiting.
import { limitLevel, type LimitKind, type LimitLevel, type NormalizedLimit } from './limits.ts';

/**
 * The empty line and empty window of a key that never had either: most keys are made for one
 * uncontended call and dropped, so their arrays are made only when first written (never written to).
 */
const NONE: never[] = Object.freeze([]) as never[];

/** A call waiting for one key's slot. */
export interface Waiter {
  readonly priority: number;
  /** Called once, when the slot is taken on the waiter's behalf. */
  grant(): void;
}

/**
 * The slots of one key (`tenant:t_1`, `model:…`, `global`): at most `limit.concurrency` held at once
 * and, with a rate limit, at most `limit.intervalCap` taken in any `limit.intervalMs` window (sliding).
 * Waiters are served highest priority first, in arrival order among equals.
 */
export class KeyGate {
  readonly kind: LimitKind;
  /** The tenant key or model name; `''` for the global key. */
  readonly value: string;
  readonly limit: NormalizedLimit;
  /** Slots held. */
  running = 0;
  /** Waiters from index `#head` on, ordered by priority (descending), then arrival. */
  #waiters: Array<Waiter | undefined> = NONE;
  #head = 0;
  /** Rate limit only: start times (performance.now()) still inside the window, oldest first from `#startsHead`. */
  #starts: number[] = NONE;
  #startsHead = 0;
  /** Rate limit only: wakes waiters held back by the window when its oldest start leaves it. */
  #rateTimer: ReturnType<typeof setTimeout> | undefined;
  /** Rate limit only: keeps an idle key until its newest start leaves the window. */
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onIdle: (gate: KeyGate) => void;

  /** `onIdle` runs when nothing holds, waits for or counts against the key any more: the owner may drop it. */
  constructor(kind: LimitKind, value: string, limit: NormalizedLimit, onIdle: (gate: KeyGate) => void) {
    this.kind = kind;
    this.value = value;
    this.limit = limit;
    this.#onIdle = onIdle;
  }

  /** The key as a limit level (for stats and refusals; built when asked for). */
  get level(): LimitLevel {
    return limitLevel(this.kind, this.value, this.limit);
  }

  /** Calls waiting for a slot of this key. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /** True when a call arriving now would get a slot at once (nobody waits ahead of it). */
  isFree(): boolean {
    return this.#waiters.length === this.#head && this.#hasRoom();
  }

  /** Takes a slot without waiting; only after {@link KeyGate.isFree} said so. */
  take(): void {
    this.running++;
    if (this.limit.intervalMs > 0) (this.#starts === NONE ? (this.#starts = []) : this.#starts).push(performance.now());
  }

  /** Joins the line; {@link Waiter.grant} runs when the waiter holds a slot. */
  enqueue(waiter: Waiter): void {
    const waiters = this.#waiters === NONE ? (this.#waiters = []) : this.#waiters;
    let index = waiters.length;
    // Most waiters share one priority: then this is a push. Otherwise find the first lower priority.
    if (index > this.#head && waiters[index - 1]!.priority < waiter.priority) {
      let low = this.#head;
      let high = index - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (waiters[middle]!.priority < waiter.priority) high = middle;
        else low = middle + 1;
      }
      index = low;
      waiters.splice(index, 0, waiter);
    } else {
      waiters.push(waiter);
    }
    this.#pump(); // a rate-limited key with nothing running needs its timer
  }

  /** Leaves the line without a slot (abort, timeout, close). Returns false if the waiter was not waiting. */
  remove(waiter: Waiter): boolean {
    const index = this.#waiters.indexOf(waiter, this.#head);
    if (index === -1) return false;
    if (index === this.#head) this.#shift();
    else this.#waiters.splice(index, 1);
    this.#afterChange();
    return true;
  }

  /** Gives back one slot and hands it to the next waiter, if the limits allow. */
  release(): void {
    this.running--;
    this.#pump();
    this.#afterChange();
  }

  /** Tells the owner if the key is idle (for a key looked up but never used). */
  checkIdle(): void {
    this.#afterChange();
  }

  /** Stops the rate timer and forgets every waiter (the limiter is closing). */
  clear(): void {
    clearTimeout(this.#rateTimer);
    clearTimeout(this.#lingerTimer);
    this.#rateTimer = this.#lingerTimer = undefined;
    this.#waiters = NONE;
    this.#head = 0;
  }

  #hasRoom(): boolean {
    if (this.running >= this.limit.concurrency) return false;
    if (this.limit.intervalMs === 0) return true;
    return this.#startsInWindow(performance.now()) < this.limit.intervalCap;
  }

  /** Drops starts older than the window and counts the rest. */
  #startsInWindow(now: number): number {
    const starts = this.#starts;
    const since = now - this.limit.intervalMs;
    while (this.#startsHead < starts.length && starts[this.#startsHead]! <= since) this.#startsHead++;
    if (this.#startsHead > 64 && this.#startsHead * 2 > starts.length) {
      starts.splice(0, this.#startsHead);
      this.#startsHead = 0;
    }
    return starts.length - this.#startsHead;
  }

  #shift(): Waiter {
    const waiter = this.#waiters[this.#head]!;
    this.#waiters[this.#head++] = undefined;
    if (this.#head === this.#waiters.length) {
      this.#waiters.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#head);
      this.#head = 0;
    }
    return waiter;
  }

  /** Grants slots to waiters while the limits allow; with waiters held back only by the rate window, wakes up when it moves. */
  #pump(): void {
    while (this.#waiters.length > this.#head && this.#hasRoom()) {
      this.take();
      this.#shift().grant();
    }
    if (this.#waiters.length > this.#head && this.running < this.limit.concurrency && this.#rateTimer === undefined) {
      // Held back by the window: retry when its oldest start leaves it.
      const delay = this.#starts[this.#startsHead]! + this.limit.intervalMs - performance.now();
      this.#rateTimer = setTimeout(() => {
        this.#rateTimer = undefined;
        this.#pump();
        this.#afterChange();
      }, Math.max(0, Math.ceil(delay)));
    }
  }

  /** Tells the owner once the key is idle; a rate-limited key first waits until its window is empty. */
  #afterChange(): void {
    if (this.running > 0 || this.#waiters.length > this.#head) return;
    if (this.limit.intervalMs === 0) {
      this.#onIdle(this);
      return;
    }
    clearTimeout(this.#rateTimer);
    clearTimeout(this.#lingerTimer);
    this.#rateTimer = undefined;
    this.#lingerTimer = undefined;
    const now = performance.now();
    if (this.#startsInWindow(now) === 0) {
      this.#onIdle(this);
      return;
    }
    // Linger until the newest start leaves the window, so its calls still count.
    const delay = this.#starts[this.#starts.length - 1]! + this.limit.intervalMs - now;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#afterChange();
    }, Math.max(0, Math.ceil(delay)));
    this.#lingerTimer.unref();
  }
}
