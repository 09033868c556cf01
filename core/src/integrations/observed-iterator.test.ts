import { describe, expect, it } from 'vitest';
import { HIDDEN, ObservedIterator } from './observed-iterator.ts';

/** What the subclass is told at each point of the iteration, as a plain object for these tests. */
interface IterationObserver<T> {
  /** What the consumer gets: the item, another value, or HIDDEN. */
  item(item: T): T | typeof HIDDEN;
  end(): void;
  error(error: unknown): void;
  stopped(): void;
}

/** An ObservedIterator that hands each observation to `observer`. */
class Observed<T> extends ObservedIterator<T> {
  readonly #observer: IterationObserver<T>;

  constructor(open: () => AsyncIterator<T> | PromiseLike<AsyncIterator<T>>, observer: IterationObserver<T>) {
    super(open);
    this.#observer = observer;
  }

  protected observeItem(item: T): T | typeof HIDDEN {
    return this.#observer.item(item);
  }

  protected observeEnd(): void {
    this.#observer.end();
  }

  protected observeError(error: unknown): void {
    this.#observer.error(error);
  }

  protected observeStop(): void {
    this.#observer.stopped();
  }
}

/** An async generator source that records how it was closed. */
function source(items: number[], options: { failAt?: number } = {}) {
  const log: string[] = [];
  async function* gen(): AsyncGenerator<number> {
    try {
      for (const [index, item] of items.entries()) {
        if (index === options.failAt) throw new Error(`source failed at ${index}`);
        yield item;
      }
    } finally {
      log.push('source closed');
    }
  }
  return { log, open: () => gen() };
}

function recorder(log: string[], options: { hide?: (n: number) => boolean; map?: (n: number) => number; throwOn?: number } = {}): IterationObserver<number> {
  return {
    item(n) {
      if (n === options.throwOn) throw new Error(`item ${n} rejected`);
      log.push(`item ${n}`);
      if (options.hide?.(n)) return HIDDEN;
      return options.map ? options.map(n) : n;
    },
    end: () => void log.push('end'),
    error: (error) => void log.push(`error: ${(error as Error).message}`),
    stopped: () => void log.push('stopped'),
  };
}

async function drain(iterable: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const n of iterable) out.push(n);
  return out;
}

describe('ObservedIterator (the async generator it replaces, one `.then` per item)', () => {
  it('yields every item not hidden, observes all of them in order, ends once', async () => {
    const { log, open } = source([1, 2, 3, 4]);
    const iterator = new Observed(open, recorder(log, { hide: (n) => n === 3 }));
    expect(await drain(iterator)).toEqual([1, 2, 4]);
    expect(log).toEqual(['item 1', 'item 2', 'item 3', 'item 4', 'source closed', 'end']);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(log.filter((l) => l === 'end')).toHaveLength(1);
  });

  it('gives the consumer what the observer returns for an item, without touching the source\'s result', async () => {
    // One result object handed out twice, as `Stream.tee()` hands both branches the same one.
    const shared = { value: 2, done: false as const };
    const results: IteratorResult<number>[] = [{ value: 1, done: false }, shared, shared, { value: undefined, done: true }];
    const log: string[] = [];
    const iterator = new Observed(() => ({ next: async () => results.shift()! }), recorder(log, { map: (n) => (n === 2 ? 20 : n) }));
    expect(await drain(iterator)).toEqual([1, 20, 20]);
    expect(shared).toEqual({ value: 2, done: false });
    expect(log).toEqual(['item 1', 'item 2', 'item 2', 'end']);
  });

  it('opens the source on the first next(), not before', async () => {
    let opened = 0;
    const iterator = new Observed(() => (opened++, source([1]).open()), recorder([]));
    expect(opened).toBe(0);
    await iterator.next();
    expect(opened).toBe(1);
  });

  it('a consumer that breaks closes the source first, then is told stopped; never end', async () => {
    const { log, open } = source([1, 2, 3]);
    for await (const n of new Observed(open, recorder(log))) if (n === 2) break;
    expect(log).toEqual(['item 1', 'item 2', 'source closed', 'stopped']);
  });

  it('return() before the first next() neither opens the source nor reports anything', async () => {
    const { log, open } = source([1]);
    const iterator = new Observed(open, recorder(log));
    expect(await iterator.return()).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(log).toEqual([]);
  });

  it('a source that throws fails the iteration with its error, once', async () => {
    const { log, open } = source([1, 2, 3], { failAt: 1 });
    await expect(drain(new Observed(open, recorder(log)))).rejects.toThrow('source failed at 1');
    expect(log).toEqual(['item 1', 'source closed', 'error: source failed at 1']);
  });

  it('an observer that throws on an item closes the source, then fails with that error', async () => {
    const { log, open } = source([1, 2, 3]);
    await expect(drain(new Observed(open, recorder(log, { throwOn: 2 })))).rejects.toThrow('item 2 rejected');
    expect(log).toEqual(['item 1', 'source closed', 'error: item 2 rejected']);
  });

  it('an open() that throws rejects the first next() without telling the observer', async () => {
    const log: string[] = [];
    const iterator = new Observed<number>(() => {
      throw new Error('cannot open');
    }, recorder(log));
    await expect(iterator.next()).rejects.toThrow('cannot open');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(log).toEqual([]);
  });

  it('answers calls made without waiting in order, as an async generator queues them', async () => {
    const { log, open } = source([1, 2, 3, 4, 5]);
    const iterator = new Observed(open, recorder(log, { hide: (n) => n === 2 }));
    const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next(), iterator.return()]);
    expect(results.map((r) => r.value)).toEqual([1, 3, 4, 5, undefined]);
    expect(log).toEqual(['item 1', 'item 2', 'item 3', 'item 4', 'item 5', 'source closed', 'stopped']);
  });
});

describe('ObservedIterator ≡ the async generator it replaced', () => {
  /** The integrations' former code: `for await` over the source inside try/catch/finally. */
  function viaGenerator<T>(open: () => AsyncIterator<T>, observer: IterationObserver<T>): AsyncIterableIterator<T> {
    async function* iterate(): AsyncGenerator<T> {
      let ended = false;
      try {
        for await (const item of { [Symbol.asyncIterator]: open }) {
          const shown = observer.item(item);
          if (shown === HIDDEN) continue;
          yield shown;
        }
        ended = true;
        observer.end();
      } catch (error) {
        ended = true;
        observer.error(error);
        throw error;
      } finally {
        if (!ended) observer.stopped();
      }
    }
    return iterate();
  }
  type Make = (open: () => AsyncIterator<number>, observer: IterationObserver<number>) => AsyncIterableIterator<number>;
  const scenarios: Record<string, (make: Make) => Promise<unknown>> = {
    'drain with a hidden item, then next()': async (make) => {
      const { log, open } = source([1, 2, 3, 4]);
      const it = make(open, recorder(log, { hide: (n) => n === 3 }));
      return [await drain(it), await it.next(), log];
    },
    'drain with a changed item': async (make) => {
      const { log, open } = source([1, 2, 3]);
      return [await drain(make(open, recorder(log, { map: (n) => n * 10 }))), log];
    },
    'break': async (make) => {
      const { log, open } = source([1, 2, 3]);
      for await (const n of make(open, recorder(log))) if (n === 2) break;
      return log;
    },
    'source throws': async (make) => {
      const { log, open } = source([1, 2, 3], { failAt: 1 });
      const it = make(open, recorder(log));
      return [await drain(it).catch((e: Error) => e.message), await it.next(), log];
    },
    'observer throws': async (make) => {
      const { log, open } = source([1, 2, 3]);
      return [await drain(make(open, recorder(log, { throwOn: 2 }))).catch((e: Error) => e.message), log];
    },
    'concurrent calls': async (make) => {
      const { log, open } = source([1, 2, 3, 4, 5]);
      const it = make(open, recorder(log, { hide: (n) => n === 2 }));
      return [await Promise.all([it.next(), it.next(), it.next(), it.next(), it.return!()]), log];
    },
    'throw() after an item': async (make) => {
      const { log, open } = source([1, 2, 3]);
      const it = make(open, recorder(log));
      await it.next();
      return [await it.throw!(new Error('boom')).catch((e: Error) => e.message), await it.next(), log];
    },
    'return() while a next() is open': async (make) => {
      const { log, open } = source([1, 2, 3]);
      const it = make(open, recorder(log));
      const [a, b, c] = [it.next(), it.return!(), it.next()];
      return [await a, await b, await c, log];
    },
  };
  it.each(Object.keys(scenarios))('%s', async (name) => {
    const expected = await scenarios[name]!(viaGenerator);
    expect(await scenarios[name]!((open, observer) => new Observed(open, observer))).toEqual(expected);
  });
});
