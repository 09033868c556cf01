// Why this file exists: the `openai` and Agents SDK integrations hand the consumer the SDK's own
// stream items, observed on the way (onEvent, usage, the settlement). An async generator around a
// `for await` costs two extra promise hops and a suspended frame per item; this iterator costs one
// `.then` per item — the hot path runs once per token. It keeps the generator's semantics exactly:
// the source opens on the first `next()`, calls queue in order, an item that throws closes the
// source, `return()` closes the source before the call is settled as stopped, and settlements
// happen at most once. An integration's observer subclasses it (one object per stream, not two).

/** What {@link ObservedIterator.observeItem} returns to hide an item from the consumer. */
export const HIDDEN: unique symbol = Symbol('sluice.hidden');

function done(): IteratorReturnResult<undefined> {
  return { value: undefined, done: true };
}

/**
 * An async iterator over `open()`'s items that a subclass observes — what an integration does at
 * each point of the iteration. `open` runs on the first `next()`; if it throws, the iteration fails
 * with its error and the observer methods are not called (an `open` that has started the call
 * settles it itself).
 */
export abstract class ObservedIterator<T> implements AsyncIterableIterator<T, undefined> {
  /** Dropped once called, so a long stream does not keep what only opening needed. */
  #open: (() => AsyncIterator<T> | PromiseLike<AsyncIterator<T>>) | undefined;
  #source: AsyncIterator<T> | undefined;
  #started = false;
  #ended = false;
  /** `next`/`return`/`throw` calls not answered yet; a call made while another is open waits behind `#tail`. */
  #pending = 0;
  #tail: Promise<IteratorResult<T, undefined>> | undefined;

  constructor(open: () => AsyncIterator<T> | PromiseLike<AsyncIterator<T>>) {
    this.#open = open;
  }

  /**
   * One item of the source, in order. Returns what the consumer gets — the item itself, or one made
   * from it — or {@link HIDDEN} to hide it. May throw: the iteration fails.
   */
  protected abstract observeItem(item: T): T | typeof HIDDEN;
  /** The source ended. May throw: the iteration fails with that error. */
  protected abstract observeEnd(): void;
  /** The source, `observeItem` or `observeEnd` threw (after the source was closed where a generator would close it). */
  protected abstract observeError(error: unknown): void;
  /** The consumer stopped (`return()`) after the source was opened, before its end; the source is closed. */
  protected abstract observeStop(): void;

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#pending++ === 0) return (this.#tail = this.#pull());
    const pull = () => this.#pull();
    return (this.#tail = this.#tail!.then(pull, pull));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    return this.#enqueueRare(() => this.#stop());
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    return this.#enqueueRare(() => this.#fail(error));
  }

  /**
   * Calls are answered in order (async generators queue them too): a call made while another is
   * open waits behind `#tail`. Every call decrements `#pending` once when its answer settles —
   * `#pull` in its own handlers (no extra promise per item), `return`/`throw` through `finally`.
   */
  #enqueueRare(step: () => Promise<IteratorResult<T, undefined>>): Promise<IteratorResult<T, undefined>> {
    const run = () =>
      step().finally(() => {
        this.#answered();
      });
    if (this.#pending++ === 0) return (this.#tail = run());
    return (this.#tail = this.#tail!.then(run, run));
  }

  /** One call answered; with none left open, the last answer is not kept alive by `#tail`. */
  #answered(): void {
    if (--this.#pending === 0) this.#tail = undefined;
  }

  #pull(): Promise<IteratorResult<T, undefined>> {
    if (this.#ended) {
      this.#answered();
      return Promise.resolve(done());
    }
    const source = this.#source;
    if (source !== undefined) return this.#nextOf(source);
    this.#started = true;
    const open = this.#open!;
    this.#open = undefined;
    let opened: AsyncIterator<T> | PromiseLike<AsyncIterator<T>>;
    try {
      opened = open();
    } catch (error) {
      this.#ended = true;
      this.#answered();
      return Promise.reject(error);
    }
    return Promise.resolve(opened).then(
      (it) => {
        this.#source = it;
        return this.#nextOf(it);
      },
      (error: unknown) => {
        this.#ended = true;
        this.#answered();
        throw error;
      },
    );
  }

  #nextOf(source: AsyncIterator<T>): Promise<IteratorResult<T, undefined>> {
    let step: Promise<IteratorResult<T, unknown>>;
    try {
      step = source.next();
    } catch (error) {
      return Promise.resolve().then(() => this.#onSourceError(error));
    }
    return step.then(this.#onResult, this.#onSourceError);
  }

  readonly #onResult = (result: IteratorResult<T, unknown>): IteratorResult<T, undefined> | Promise<IteratorResult<T, undefined>> => {
    if (this.#ended) {
      // Stopped or failed meanwhile.
      this.#answered();
      return done();
    }
    if (result.done) {
      this.#ended = true;
      this.#answered();
      try {
        this.observeEnd();
      } catch (error) {
        this.observeError(error);
        throw error;
      }
      return done();
    }
    let shown: T | typeof HIDDEN;
    try {
      shown = this.observeItem(result.value);
    } catch (error) {
      // A generator's `for await` closes its source before its `catch` runs.
      this.#ended = true;
      return this.#closeSource().then(() => {
        this.#answered();
        this.observeError(error);
        throw error;
      });
    }
    if (shown === HIDDEN) return this.#nextOf(this.#source!);
    this.#answered();
    // The source's own result when the item is unchanged; a new one otherwise (a source may share
    // its results — `Stream.tee()` hands both branches the same one).
    return shown === result.value ? (result as IteratorYieldResult<T>) : { value: shown, done: false };
  };

  readonly #onSourceError = (error: unknown): never => {
    this.#answered();
    if (!this.#ended) {
      this.#ended = true;
      this.observeError(error);
    }
    throw error;
  };

  /** Closes the source for a throw: its `return()` is awaited, its own failure ignored. */
  #closeSource(): Promise<unknown> {
    try {
      return Promise.resolve(this.#source?.return?.()).then(undefined, () => undefined);
    } catch {
      return Promise.resolve();
    }
  }

  #stop(): Promise<IteratorResult<T, undefined>> {
    if (!this.#started || this.#ended) {
      this.#ended = true;
      return Promise.resolve(done());
    }
    this.#ended = true;
    const fail = (error: unknown): never => {
      this.observeError(error);
      throw error;
    };
    let closing: unknown;
    try {
      closing = this.#source?.return?.();
    } catch (error) {
      return Promise.resolve().then(() => fail(error));
    }
    return Promise.resolve(closing).then(() => {
      this.observeStop();
      return done();
    }, fail);
  }

  #fail(error: unknown): Promise<IteratorResult<T, undefined>> {
    if (!this.#started || this.#ended) {
      this.#ended = true;
      return Promise.reject(error);
    }
    this.#ended = true;
    return this.#closeSource().then(() => {
      this.observeError(error);
      throw error;
    });
  }
}
