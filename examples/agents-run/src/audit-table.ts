// Why this file exists: the demo shows Vela's audit of the run — one row per execution — as a table.
import type { AuditRow } from '@sluice/plugin-vela/dev-server';

/** The audit rows as aligned text lines. */
export function formatAuditTable(rows: readonly AuditRow[]): string[] {
  const header = ['execution', 'slot', 'model', 'outcome', 'status', 'in', 'out', 'cost'];
  const body = rows.map((r) => [
    r.executionId,
    r.slotId ?? '-',
    r.model ?? '-',
    r.reasonCode ? `${r.outcome} (${r.reasonCode})` : r.outcome,
    r.status,
    r.inputTokens === null ? '-' : String(r.inputTokens),
    r.outputTokens === null ? '-' : String(r.outputTokens),
    r.costUsd === null ? '-' : `$${r.costUsd.toFixed(6)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => `  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [fmt(header), fmt(widths.map((w) => '─'.repeat(w))), ...body.map(fmt)];
}
