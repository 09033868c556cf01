// Why this file exists: an audit record must survive Vela being down and the process restarting.
// Every report is written here before it is sent and removed once Vela has it; a SQLite file
// (node:sqlite) makes that durable across restarts, memory is the no-configuration default.
import { DatabaseSync } from 'node:sqlite';
import type { ReportRequest } from './protocol.ts';

/** One report waiting for delivery. */
export interface OutboxEntry {
  executionId: string;
  body: ReportRequest;
  attempts: number;
  /** Epoch ms before which it is not retried. */
  nextAttemptAt: number;
  /** The last delivery error (no secrets: Vela errors carry only the URL and codes). */
  lastError: string | undefined;
  /** Vela refused it for good (4xx); kept for inspection, not retried. */
  dead: boolean;
}

/** Where undelivered reports wait. */
export interface Outbox {
  /** Stores a report unless one is already stored for this execution (the first report settles). Returns whether it was stored. */
  put(executionId: string, body: ReportRequest, now: number): boolean;
  /** Entries to retry, oldest first. */
  pending(): OutboxEntry[];
  /** Entries Vela refused for good. */
  dead(): OutboxEntry[];
  delete(executionId: string): void;
  reschedule(executionId: string, attempts: number, nextAttemptAt: number, lastError: string): void;
  markDead(executionId: string, lastError: string): void;
  close(): void;
}

/** An outbox in memory: reports survive Vela outages, not process restarts. */
export function createMemoryOutbox(): Outbox {
  const entries = new Map<string, OutboxEntry>();
  const list = (dead: boolean) => [...entries.values()].filter((e) => e.dead === dead).map((e) => ({ ...e }));
  return {
    put(executionId, body, now) {
      if (entries.has(executionId)) return false;
      entries.set(executionId, { executionId, body, attempts: 0, nextAttemptAt: now, lastError: undefined, dead: false });
      return true;
    },
    pending: () => list(false),
    dead: () => list(true),
    delete: (executionId) => void entries.delete(executionId),
    reschedule(executionId, attempts, nextAttemptAt, lastError) {
      const entry = entries.get(executionId);
      if (entry) Object.assign(entry, { attempts, nextAttemptAt, lastError });
    },
    markDead(executionId, lastError) {
      const entry = entries.get(executionId);
      if (entry) Object.assign(entry, { dead: true, lastError });
    },
    close() {},
  };
}

interface OutboxRow {
  execution_id: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  dead: number;
}

function toEntry(row: OutboxRow): OutboxEntry {
  return {
    executionId: row.execution_id,
    body: JSON.parse(row.body) as ReportRequest,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error ?? undefined,
    dead: row.dead === 1,
  };
}

/**
 * An outbox in a SQLite file: reports pending when the process stops are delivered by the next
 * process that opens the same file. Several processes may share one file (SQLite locks; Vela's
 * report is idempotent, so a double delivery changes nothing).
 */
export function createSqliteOutbox(path: string): Outbox {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA busy_timeout = 5000;
    CREATE TABLE IF NOT EXISTS vela_report_outbox (
      execution_id TEXT PRIMARY KEY,
      body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      last_error TEXT,
      dead INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    );
  `);
  const insert = db.prepare('INSERT OR IGNORE INTO vela_report_outbox (execution_id, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?)');
  const select = db.prepare('SELECT * FROM vela_report_outbox WHERE dead = ? ORDER BY created_at, execution_id');
  const remove = db.prepare('DELETE FROM vela_report_outbox WHERE execution_id = ?');
  const update = db.prepare('UPDATE vela_report_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE execution_id = ?');
  const kill = db.prepare('UPDATE vela_report_outbox SET dead = 1, last_error = ? WHERE execution_id = ?');
  let open = true;
  return {
    put: (executionId, body, now) => insert.run(executionId, JSON.stringify(body), now, now).changes === 1,
    pending: () => (select.all(0) as unknown as OutboxRow[]).map(toEntry),
    dead: () => (select.all(1) as unknown as OutboxRow[]).map(toEntry),
    delete: (executionId) => void remove.run(executionId),
    reschedule: (executionId, attempts, nextAttemptAt, lastError) => void update.run(attempts, nextAttemptAt, lastError, executionId),
    markDead: (executionId, lastError) => void kill.run(lastError, executionId),
    close() {
      if (open) db.close();
      open = false;
    },
  };
}
