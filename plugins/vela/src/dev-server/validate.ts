// Why this file exists: request bodies arrive as `unknown`; these helpers narrow them field by
// field, naming the full path of the first bad field (`executionScope.customerTenantId`) and what
// would be valid, so every route validates strictly and answers 400s the same way.

import { invalidField } from './errors.ts';
import { isJsonObject } from './http-json.ts';
import type { JsonObject } from './http-json.ts';

/** `prefix.key`, or `key` at the top level. */
export function fieldPath(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

/** `value` as an object, else 400 naming `field`. */
export function expectObject(value: unknown, field: string): JsonObject {
  if (!isJsonObject(value)) throw invalidField(field, 'an object');
  return value;
}

/** Refuses keys not in `allowed` (strict bodies catch misspelt fields instead of ignoring them). */
export function rejectUnknownKeys(object: JsonObject, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw invalidField(fieldPath(prefix, key), `no such field (allowed: ${allowed.join(', ')})`);
  }
}

/** Constraints of a string field. */
export interface StringRule {
  /** Default 1 (non-empty). */
  minLength?: number;
  /** Default 200. */
  maxLength?: number;
  pattern?: RegExp;
  /** Described in the 400 message when `pattern` does not match. */
  patternDescription?: string;
}

function checkString(value: unknown, field: string, rule: StringRule): string {
  const minLength = rule.minLength ?? 1;
  const maxLength = rule.maxLength ?? 200;
  if (typeof value !== 'string' || value.length < minLength || value.length > maxLength) {
    const size = minLength === 0 ? `at most ${maxLength}` : `${minLength} to ${maxLength}`;
    throw invalidField(field, `a string of ${size} characters`);
  }
  if (rule.pattern !== undefined && !rule.pattern.test(value)) {
    throw invalidField(field, rule.patternDescription ?? `a string matching ${rule.pattern.source}`);
  }
  return value;
}

/** A required string (non-empty unless `rule.minLength` is 0). */
export function requiredString(object: JsonObject, key: string, prefix: string, rule: StringRule = {}): string {
  return checkString(object[key], fieldPath(prefix, key), rule);
}

/** An optional string (absent → undefined; `null` is refused). */
export function optionalString(object: JsonObject, key: string, prefix: string, rule: StringRule = {}): string | undefined {
  if (object[key] === undefined) return undefined;
  return checkString(object[key], fieldPath(prefix, key), rule);
}

/** Constraints of a number field. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
}

function checkNumber(value: unknown, field: string, rule: NumberRule): number {
  const min = rule.min ?? 0;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  const kind = rule.integer ? 'an integer' : 'a finite number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (rule.integer && !Number.isSafeInteger(value)) || value < min || value > max) {
    throw invalidField(field, `${kind} between ${min} and ${max}`);
  }
  return value;
}

/** A required finite number within the rule (default: ≥ 0). */
export function requiredNumber(object: JsonObject, key: string, prefix: string, rule: NumberRule = {}): number {
  return checkNumber(object[key], fieldPath(prefix, key), rule);
}

/** An optional finite number within the rule (absent → undefined; `null` is refused). */
export function optionalNumber(object: JsonObject, key: string, prefix: string, rule: NumberRule = {}): number | undefined {
  if (object[key] === undefined) return undefined;
  return checkNumber(object[key], fieldPath(prefix, key), rule);
}

/** A required boolean. */
export function requiredBoolean(object: JsonObject, key: string, prefix: string): boolean {
  const value = object[key];
  if (typeof value !== 'boolean') throw invalidField(fieldPath(prefix, key), 'a boolean');
  return value;
}

/** A required value among `choices`. */
export function requiredChoice<T extends string>(object: JsonObject, key: string, prefix: string, choices: readonly T[]): T {
  const value = object[key];
  const match = choices.find((choice) => choice === value);
  if (match === undefined) throw invalidField(fieldPath(prefix, key), `one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  return match;
}

/** Ids chosen by callers (tenants, delegations, apps): short, printable, no separators that need escaping. */
export const ID_RULE: StringRule = {
  maxLength: 128,
  pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
  patternDescription: 'an id of letters, digits and . _ : - (starting with a letter or digit, at most 128 characters)',
};

/** Provider-qualified model names: `provider/model`. */
export const QUALIFIED_MODEL_RULE: StringRule = {
  maxLength: 200,
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*\/[^\s/][^\s]*$/,
  patternDescription: 'a provider-qualified model name like "openai/gpt-4.1-mini"',
};

/** Model names with or without provider prefix. */
export const MODEL_RULE: StringRule = {
  maxLength: 200,
  pattern: /^[^\s]+$/,
  patternDescription: 'a model name without whitespace',
};
