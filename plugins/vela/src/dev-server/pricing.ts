// Why this file exists: cost is the one number budgets are enforced on, so the price table, the
// arithmetic that turns token usage into dollars, and the unit money is kept in all live here.
// Money is stored as integer nano-dollars (1e-9 USD) so that holds and spends add up exactly:
// a budget for ten calls of $0.1 allows ten, not nine because 0.1 × 10 ≠ 1 in floating point.

/** Prices of one model, in USD per million tokens. */
export interface ModelPrice {
  inputPerMTokUsd: number;
  /** Price of cached input tokens; default: the input price. */
  cachedInputPerMTokUsd?: number;
  outputPerMTokUsd: number;
}

/** Price table keyed by model name without provider prefix (`gpt-4.1-mini`). */
export type PriceTable = Record<string, ModelPrice>;

/**
 * Default prices: the fake models used in tests and the demo, and common OpenAI models (list
 * prices at the time of writing; pass `prices` to override or extend).
 */
export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  'gpt-fake': { inputPerMTokUsd: 1, cachedInputPerMTokUsd: 0.5, outputPerMTokUsd: 2 },
  'gpt-fake-mini': { inputPerMTokUsd: 0.1, cachedInputPerMTokUsd: 0.05, outputPerMTokUsd: 0.4 },
  'gpt-fake-reasoning': { inputPerMTokUsd: 2, cachedInputPerMTokUsd: 0.5, outputPerMTokUsd: 8 },
  'gpt-4.1': { inputPerMTokUsd: 2, cachedInputPerMTokUsd: 0.5, outputPerMTokUsd: 8 },
  'gpt-4.1-mini': { inputPerMTokUsd: 0.4, cachedInputPerMTokUsd: 0.1, outputPerMTokUsd: 1.6 },
  'gpt-4.1-nano': { inputPerMTokUsd: 0.1, cachedInputPerMTokUsd: 0.025, outputPerMTokUsd: 0.4 },
  'gpt-4o': { inputPerMTokUsd: 2.5, cachedInputPerMTokUsd: 1.25, outputPerMTokUsd: 10 },
  'gpt-4o-mini': { inputPerMTokUsd: 0.15, cachedInputPerMTokUsd: 0.075, outputPerMTokUsd: 0.6 },
  'o4-mini': { inputPerMTokUsd: 1.1, cachedInputPerMTokUsd: 0.275, outputPerMTokUsd: 4.4 },
  'gpt-5': { inputPerMTokUsd: 1.25, cachedInputPerMTokUsd: 0.125, outputPerMTokUsd: 10 },
  'gpt-5-mini': { inputPerMTokUsd: 0.25, cachedInputPerMTokUsd: 0.025, outputPerMTokUsd: 2 },
  'gpt-5-nano': { inputPerMTokUsd: 0.05, cachedInputPerMTokUsd: 0.005, outputPerMTokUsd: 0.4 },
});

/** Largest dollar amount accepted anywhere (budgets, estimates, reported costs). */
export const MAX_USD = 1_000_000;

const NANO_PER_USD = 1_000_000_000;

/** USD → integer nano-dollars (rounded to the nearest). */
export function usdToNano(usd: number): number {
  return Math.round(usd * NANO_PER_USD);
}

/** Integer nano-dollars → USD. */
export function nanoToUsd(nano: number): number {
  return nano / NANO_PER_USD;
}

/** Token counts a cost is computed from. */
export interface PricedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
}

/**
 * Cost of `usage` on `model` in nano-dollars, or undefined when the table has no price for it.
 * Cached input tokens (a subset of input tokens) are priced at the cached price; reasoning tokens
 * are part of output tokens, as both OpenAI APIs count them.
 */
export function priceUsage(prices: Readonly<PriceTable>, model: string, usage: PricedUsage): number | undefined {
  const price = Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (price === undefined) return undefined;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const uncached = usage.inputTokens - cached;
  const cachedPrice = price.cachedInputPerMTokUsd ?? price.inputPerMTokUsd;
  // tokens × (USD per 1e6 tokens) = tokens × price / 1e6 USD = tokens × price × 1000 nano-dollars.
  const nano = (uncached * price.inputPerMTokUsd + cached * cachedPrice + usage.outputTokens * price.outputPerMTokUsd) * 1000;
  return Math.round(nano);
}

/** Whether `price` is a usable table entry (finite, non-negative numbers). */
export function isValidPrice(price: unknown): price is ModelPrice {
  if (typeof price !== 'object' || price === null) return false;
  const { inputPerMTokUsd, cachedInputPerMTokUsd, outputPerMTokUsd } = price as Record<string, unknown>;
  const ok = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  return ok(inputPerMTokUsd) && ok(outputPerMTokUsd) && (cachedInputPerMTokUsd === undefined || ok(cachedInputPerMTokUsd));
}
