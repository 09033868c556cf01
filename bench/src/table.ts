// Why this file exists: the rows as a table a person reads in a terminal, and as the markdown
// table of bench/README.md — same columns, same rounding.
import type { Row } from './rows.ts';

/** Three significant digits, thousands grouped; rates as k/M. */
export function formatNumber(value: number | undefined, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (unit === 'events/s' || unit === 'chunks/s') {
    const abs = Math.abs(value);
    return abs >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : abs >= 1e3 ? `${(value / 1e3).toFixed(1)}k` : value.toFixed(0);
  }
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function formatN(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

const HEADERS = ['scenario', 'N', 'median', 'p99', 'spread (IQR)', 'vs bare', 'added', 'target', 'result'];

function cells(row: Row): string[] {
  const unit = ` ${row.unit}`;
  return [
    row.scenario,
    formatN(row.n),
    formatNumber(row.median, row.unit) + unit,
    formatNumber(row.p99, row.unit) + unit,
    `${(row.spread * 100).toFixed(1)}%`,
    row.ratio === undefined ? '–' : `${row.ratio.toFixed(2)}×`,
    row.added === undefined
      ? '–'
      : `${row.added >= 0 ? '+' : ''}${formatNumber(row.added, row.addedUnit ?? row.unit)}${row.addedCi !== undefined ? ` ±${formatNumber(row.addedCi, row.addedUnit ?? row.unit)}` : ''} ${row.addedUnit ?? row.unit}`,
    row.target?.text ?? '–',
    row.pass === undefined ? '' : `${row.pass ? 'PASS' : 'MISS'}${row.conclusive === false ? ' (within noise)' : ''}`,
  ];
}

/** A plain-text table, grouped, for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out: string[] = [];
  let group = '';
  for (const [index, row] of rows.entries()) {
    if (row.group !== group) {
      group = row.group;
      out.push('', `── ${group} ${'─'.repeat(Math.max(0, widths.reduce((a, b) => a + b + 2, 0) - group.length - 4))}`, line(HEADERS));
    }
    out.push(line(body[index]!));
    if (row.note) out.push(`    ↳ ${row.note}`);
  }
  return out.join('\n');
}

/** A markdown table (one per group) for bench/README.md. */
export function markdownTables(rows: readonly Row[]): string {
  const out: string[] = [];
  let group = '';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      out.push('', `**${group}**`, '', `| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    }
    const c = cells(row);
    if (row.note) c[0] = `${c[0]} <br><sub>${row.note}</sub>`;
    out.push(`| ${c.join(' | ')} |`);
  }
  return out.join('\n');
}
