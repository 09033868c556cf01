// Why this file exists: agents name a model *slot*, not a model; the slot table is validated once
// so a typo is a clear error listing the known slots rather than a failed request later.
import { SluiceConfigError } from '../errors.ts';
import type { ModelSlot } from '../model-call.ts';

/** A validated slot table. */
export interface SlotTable {
  readonly slots: readonly ModelSlot[];
  /** The slot for `name`; `undefined`/empty name = the default slot. Throws listing known slots. */
  resolve(name: string | undefined): ModelSlot;
}

const SELECTION_MODES = ['locked', 'tenant'] as const;

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SluiceConfigError(field, `expected a non-empty string, got ${value === undefined ? 'undefined' : JSON.stringify(value)}`);
  }
  return value;
}

/** Validates `slots` (unique `slotId`, `selectionMode` locked|tenant, `requiredModel`) and builds the table. */
export function createSlotTable(slots: unknown, defaultSlot?: string): SlotTable {
  if (!Array.isArray(slots) || slots.length === 0) {
    throw new SluiceConfigError('slots', 'expected a non-empty array of { slotId, label, selectionMode, requiredModel }');
  }
  const byId = new Map<string, ModelSlot>();
  slots.forEach((raw: unknown, index) => {
    const field = `slots[${index}]`;
    if (typeof raw !== 'object' || raw === null) throw new SluiceConfigError(field, 'expected an object');
    const s = raw as Record<string, unknown>;
    const slotId = requireString(s.slotId, `${field}.slotId`);
    if (byId.has(slotId)) throw new SluiceConfigError(`${field}.slotId`, `duplicate slot id "${slotId}"`);
    const selectionMode = s.selectionMode;
    if (!SELECTION_MODES.includes(selectionMode as (typeof SELECTION_MODES)[number])) {
      throw new SluiceConfigError(`${field}.selectionMode`, `expected "locked" or "tenant", got ${JSON.stringify(selectionMode)}`);
    }
    byId.set(slotId, {
      slotId,
      label: requireString(s.label, `${field}.label`),
      selectionMode: selectionMode as ModelSlot['selectionMode'],
      requiredModel: requireString(s.requiredModel, `${field}.requiredModel`),
    });
  });
  const known = () => [...byId.keys()].map((id) => `"${id}"`).join(', ');
  const fallbackId = defaultSlot ?? byId.keys().next().value!;
  if (!byId.has(fallbackId)) throw new SluiceConfigError('defaultSlot', `unknown slot "${fallbackId}"; known slots: ${known()}`);
  return {
    slots: [...byId.values()],
    resolve(name) {
      const slot = byId.get(name === undefined || name === '' ? fallbackId : name);
      if (!slot) throw new SluiceConfigError('model', `unknown model slot "${name}"; known slots: ${known()}`);
      return slot;
    },
  };
}

/** The API model name for a provider-qualified id: `openai/gpt-4.1-mini` → `gpt-4.1-mini`. */
export function apiModelName(requiredModel: string): string {
  const slash = requiredModel.indexOf('/');
  return slash === -1 ? requiredModel : requiredModel.slice(slash + 1);
}
