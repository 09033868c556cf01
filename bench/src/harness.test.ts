// The interleaving order: every variant runs once per iteration, and directly follows every other
// variant equally often, so what one run leaves behind is spread over all of them.
import { describe, expect, it } from 'vitest';
import { balancedOrders, interleave, settledHeap } from './harness.ts';

function followCounts(orders: number[][]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const order of orders) for (let k = 1; k < order.length; k++) counts.set(`${order[k - 1]}→${order[k]}`, (counts.get(`${order[k - 1]}→${order[k]}`) ?? 0) + 1);
  return counts;
}

describe('balancedOrders', () => {
  it.each([2, 3, 4, 5, 6, 7, 8])('%i variants: each order runs every variant once; every variant follows every other equally often', (n) => {
    const orders = balancedOrders(n);
    for (const order of orders) expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const counts = followCounts(orders);
    expect(counts.size).toBe(n * (n - 1));
    expect(new Set(counts.values()).size).toBe(1);
  });

  it('a plain rotation is not balanced (what the orders replace)', () => {
    const rotation = Array.from({ length: 4 }, (_, r) => Array.from({ length: 4 }, (_, k) => (r + k) % 4));
    expect(followCounts(rotation).size).toBeLessThan(4 * 3);
  });
});

describe('interleave', () => {
  it('runs the variants in the balanced orders, one sample per variant per recorded iteration', async () => {
    const ran: string[] = [];
    const variants = ['a', 'b', 'c'].map((name) => ({ name, run: () => void ran.push(name) }));
    const samples = await interleave(variants, { warmup: 1, iterations: 6 });
    expect([...samples.values()].map((s) => s.length)).toEqual([6, 6, 6]);
    const orders = balancedOrders(3).map((order) => order.map((i) => 'abc'[i]).join(''));
    const perIteration = Array.from({ length: 7 }, (_, i) => ran.slice(i * 3, i * 3 + 3).join(''));
    expect(perIteration).toEqual(Array.from({ length: 7 }, (_, i) => orders[i % orders.length]));
  });
});

describe('settledHeap', () => {
  it('counts the objects a caller holds, not the bytecode V8 compiles', async () => {
    const start = await settledHeap();
    const startUsed = process.memoryUsage().heapUsed;
    const held = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    const afterObjects = await settledHeap();
    // 100,000 objects of at least two words each, and the array that holds them.
    expect(afterObjects - start).toBeGreaterThan(100_000 * 16);
    // 200 functions of 300 statements each, run once: ~3.3 MB of bytecode beside their ~2.8 MB of source.
    const body = 'x = (x * 3 + 1) | 0; if (x > 1000) x -= 999;\n'.repeat(300);
    const functions = Array.from({ length: 200 }, (_, i) => new Function('x', `x += ${i};\n${body}return x;`) as (x: number) => number);
    for (const f of functions) f(1);
    const afterCode = await settledHeap();
    const afterCodeUsed = process.memoryUsage().heapUsed;
    const counted = afterCode - afterObjects;
    const used = afterCodeUsed - startUsed - (afterObjects - start);
    // The source strings are objects and are counted; the bytecode is not, though heapUsed has it
    // (a margin of ~2 MB for bytecode V8 flushes meanwhile).
    expect(counted).toBeGreaterThan(200 * body.length);
    expect(used - counted).toBeGreaterThan(1024 * 1024);
    // Both stayed reachable through the readings above.
    held.length = 0;
    functions.length = 0;
  });
});
