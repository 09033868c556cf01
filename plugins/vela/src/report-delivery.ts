// Why this file exists: reports leave the hot path — they are stored in the outbox, sent in the
// background, retried with backoff while Vela is unavailable, and flushed within a bound on close.
import type { Outbox, OutboxEntry } from './outbox.ts';
import type { ReportRequest } from './protocol.ts';
import { VelaRequestError } from './errors.ts';
import type { VelaClient } from './vela-client.ts';

/** Options of {@link ReportDelivery}. */
export interface ReportDeliveryOptions {
  client: VelaClient;
  outbox: Outbox;
  /** A report Vela refused for good (4xx); it stays in the outbox as dead. */
  onReportError?: (error: Error, executionId: string) => void;
  /** First retry delay, doubled per attempt up to `maxBackoffMs`. Default 250 ms. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  now?: () => number;
}

/** Sends reports from an outbox until Vela has them. */
export class ReportDelivery {
  readonly #client: VelaClient;
  readonly #outbox: Outbox;
  readonly #onReportError: (error: Error, executionId: string) => void;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #now: () => number;
  readonly #sending = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ReportDeliveryOptions) {
    this.#client = options.client;
    this.#outbox = options.outbox;
    this.#onReportError = options.onReportError ?? (() => {});
    this.#initialBackoffMs = options.initialBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** Delivers what earlier processes left in the outbox. */
  start(): void {
    for (const entry of this.#outbox.pending()) this.#send(entry);
  }

  /** Stores the report (unless this execution already has one) and sends it. */
  submit(executionId: string, body: ReportRequest): void {
    if (this.#closed) throw new Error('the Vela report delivery is closed');
    if (!this.#outbox.put(executionId, body, this.#now())) return;
    this.#send({ executionId, body, attempts: 0, nextAttemptAt: 0, lastError: undefined, dead: false });
  }

  /** Reports not yet delivered (not counting dead ones). */
  pendingCount(): number {
    return this.#outbox.pending().length;
  }

  /**
   * Sends everything pending now, ignoring backoff, until the outbox is empty or `timeoutMs` passes.
   * Resolves with what is left (it stays in the outbox for the next process when it is a file).
   */
  async flush(timeoutMs: number): Promise<{ pending: number }> {
    const deadline = this.#now() + timeoutMs;
    while (this.#now() < deadline) {
      const pending = this.#outbox.pending();
      if (pending.length === 0) break;
      for (const entry of pending) this.#send(entry);
      const remaining = Math.max(1, deadline - this.#now());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining)));
      const round = await Promise.race([Promise.all(this.#sending.values()).then(() => 'sent' as const), timedOut]);
      clearTimeout(timer);
      if (round === 'timeout') break;
      // Entries that failed were rescheduled; wait a little before the next round instead of spinning.
      if (this.#outbox.pending().length > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(this.#initialBackoffMs, Math.max(0, deadline - this.#now()))));
    }
    return { pending: this.#outbox.pending().length };
  }

  /** Flushes within `timeoutMs`, then stops retrying (what is left stays in the outbox). */
  async close(timeoutMs: number): Promise<{ pending: number }> {
    const result = await this.flush(timeoutMs);
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.allSettled(this.#sending.values());
    return result;
  }

  #send(entry: OutboxEntry): void {
    if (this.#sending.has(entry.executionId)) return;
    const sending = this.#deliver(entry).finally(() => {
      this.#sending.delete(entry.executionId);
    });
    this.#sending.set(entry.executionId, sending);
  }

  async #deliver(entry: OutboxEntry): Promise<void> {
    try {
      await this.#client.report(entry.executionId, entry.body);
      this.#outbox.delete(entry.executionId);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof VelaRequestError) {
        this.#outbox.markDead(entry.executionId, message);
        this.#onReportError(error, entry.executionId);
        return;
      }
      const attempts = entry.attempts + 1;
      const delay = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (attempts - 1));
      const nextAttemptAt = this.#now() + delay / 2 + Math.random() * (delay / 2);
      this.#outbox.reschedule(entry.executionId, attempts, nextAttemptAt, message);
      this.#schedule();
    }
  }

  /** One unref'd timer for the earliest retry, so a pending retry never keeps the process alive. */
  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const pending = this.#outbox.pending();
    if (pending.length === 0) return;
    const next = Math.min(...pending.map((e) => e.nextAttemptAt));
    this.#timer = setTimeout(() => {
      const now = this.#now();
      for (const entry of this.#outbox.pending()) if (entry.nextAttemptAt <= now) this.#send(entry);
      this.#schedule();
    }, Math.max(0, next - this.#now()));
    this.#timer.unref();
  }
}
