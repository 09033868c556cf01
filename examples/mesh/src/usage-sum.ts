// Why this file exists: the graph's `finish` carries the usage of every node and their total; a
// count no node reported must stay `undefined` in the total (Sluice never invents a 0).
import type { Usage } from '@sluice/core';

const KEYS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens', 'cacheWriteInputTokens', 'reasoningTokens'] as const;

/**
 * Sums usages field by field. A field is `undefined` in the sum only when it is missing from every
 * usage; `undefined` when no usage is given at all.
 */
export function sumUsage(usages: Iterable<Usage | Partial<Usage> | undefined>): Usage | undefined {
  let total: Usage | undefined;
  for (const usage of usages) {
    if (!usage) continue;
    total ??= { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined, cachedInputTokens: undefined, cacheWriteInputTokens: undefined, reasoningTokens: undefined };
    for (const key of KEYS) {
      const value = usage[key];
      if (typeof value === 'number') total[key] = (total[key] ?? 0) + value;
    }
  }
  return total;
}

/** The usage without its `undefined` fields (what goes into `messageMetadata`). */
export function compactUsage(usage: Usage | undefined): Partial<Usage> | undefined {
  if (!usage) return undefined;
  const out: Partial<Usage> = {};
  for (const key of KEYS) if (typeof usage[key] === 'number') out[key] = usage[key];
  return out;
}
