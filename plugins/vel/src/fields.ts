// Why this file exists: translators read provider events of unknown shape on the hot path; these
// reads never throw and never trust a shape. Its own module so that every translator part can use
// them — translator.ts imports the Agents envelope, which reads events too (no import cycle).

/**
 * The value as a record (any object, arrays too — as {@link prop} reads them), else undefined.
 * On the hot path, `asRecord(x)?.key` beats `prop(x, 'key')`: a named load with its own inline
 * cache at each site, where `prop`'s shared keyed load goes megamorphic across translators.
 */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The value if it is a string, else undefined (`asString(asRecord(x)?.key)` ≡ `str(x, 'key')`). */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a property of an unknown value without trusting its shape. */
export function prop(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** A string property, or undefined. */
export function str(value: unknown, key: string): string | undefined {
  const v = prop(value, key);
  return typeof v === 'string' ? v : undefined;
}
