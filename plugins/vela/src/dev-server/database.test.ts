// The database's guarantees that the HTTP tests cannot reach from one process: the relay key's
// conditional UPDATE decides between connections (processes) too, and a throwing transaction
// leaves nothing behind.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openVelaDatabase, UNSETTLED_EXECUTION_FIELDS } from './database.ts';
import type { ExecutionRecord, VelaDatabase } from './database.ts';

let dir: string;
let open: VelaDatabase[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vela-db-'));
  open = [];
});
afterEach(() => {
  for (const db of open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(): VelaDatabase {
  const db = openVelaDatabase(join(dir, 'vela.sqlite'));
  open.push(db);
  return db;
}

function seedExecution(db: VelaDatabase): void {
  db.insertApp({ appId: 'a', name: null, tokenHash: '0'.repeat(64), createdAt: 0 });
  const execution: ExecutionRecord = {
    executionId: 'ex_1',
    appId: 'a',
    idempotencyKey: 'k',
    requestHash: 'h',
    customerTenantId: 't',
    delegationId: 'd',
    userId: null,
    slotId: 's',
    slotLabel: 'l',
    selectionMode: 'locked',
    requestedModel: 'openai/m',
    model: 'm',
    api: 'chat_completions',
    outcome: 'allow',
    reasonCode: null,
    reasonMessage: null,
    retryAfterMs: null,
    status: 'pending',
    holdNano: 1,
    estimatedNano: 1,
    budgetRemainingNano: null,
    relayExpiresAt: 1000,
    ...UNSETTLED_EXECUTION_FIELDS,
    createdAt: 0,
  };
  db.insertExecution(execution);
  expect(db.getExecution('ex_1')).toEqual(execution);
  for (const keyHash of ['k1', 'k2', 'k3']) db.insertRelayKey({ keyHash, executionId: 'ex_1', model: 'm', expiresAt: 1000, usedAt: null, revokedAt: null });
}

describe('database', () => {
  it('a relay key is consumed once, across two connections to the same file', () => {
    const first = connect();
    const second = connect();
    seedExecution(first);
    expect(first.consumeRelayKey('k1', 10)).toBe(true);
    expect(second.consumeRelayKey('k1', 11)).toBe(false);
    expect(first.consumeRelayKey('k1', 12)).toBe(false);
    expect(second.getRelayKey('k1')?.usedAt).toBe(10);
  });

  it('an expired or revoked key is not consumed', () => {
    const db = connect();
    seedExecution(db);
    expect(db.consumeRelayKey('k2', 1000)).toBe(false);
    db.revokeUnusedRelayKeys('ex_1', 5);
    expect(db.consumeRelayKey('k3', 10)).toBe(false);
    expect(db.getRelayKey('k3')).toMatchObject({ usedAt: null, revokedAt: 5 });
  });

  it('a transaction that throws leaves nothing behind', () => {
    const db = connect();
    expect(() =>
      db.transaction(() => {
        db.insertApp({ appId: 'x', name: null, tokenHash: '0'.repeat(64), createdAt: 0 });
        throw new Error('decided against it');
      }),
    ).toThrow('decided against it');
    expect(db.getApp('x')).toBeUndefined();
  });

  it('reopening an existing file keeps its data', () => {
    const db = connect();
    seedExecution(db);
    db.close();
    open = [];
    expect(connect().getExecution('ex_1')?.executionId).toBe('ex_1');
  });
});
