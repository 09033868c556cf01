// SIGTERM with calls in flight: calls finish within the drain time or are reported aborted, the
// outbox is flushed (or left in its file), and the process exits cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteOutbox } from '@sluice/plugin-vela';
import { afterEach, describe, expect, it } from 'vitest';
import { startVelaWorld, type VelaWorld } from '../vela/vela-harness.ts';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'sigterm-worker.ts');
let world: VelaWorld | undefined;
let dir: string | undefined;
afterEach(async () => {
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  world = undefined;
});

async function runWorker(w: VelaWorld, outbox: string, drainMs: number, afterReady: () => void): Promise<number | null> {
  const child = spawn(process.execPath, ['--conditions=sluice:source', worker], {
    env: { PATH: process.env.PATH, VELA_APP_ID: w.appId, VELA_APP_TOKEN: w.appToken, VELA_BASE_URL: w.velaServer.url, OUTBOX: outbox, TENANT: w.tenantId, DELEGATION: w.delegationId, CALLS: '5', DRAIN_MS: String(drainMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      if (data.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  child.kill('SIGTERM');
  afterReady();
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('SIGTERM with calls in flight', () => {
  it('calls still running after the drain time are reported aborted; the outbox is flushed; exit 0', async () => {
    world = await startVelaWorld({ budgetUsd: 10 });
    dir = mkdtempSync(join(tmpdir(), 'sluice-sigterm-'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    world.upstream.setScript(() => ({ text: 'one two three four', pauseAfterChunks: 1, gate }));
    const code = await runWorker(world, join(dir, 'outbox.sqlite'), 200, () => undefined);
    release();
    await world.velaServer.settled();
    expect(code).toBe(0);
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((r) => r.status)).toEqual(Array(5).fill('aborted'));
    const outbox = createSqliteOutbox(join(dir, 'outbox.sqlite'));
    expect(outbox.pending()).toEqual([]);
    outbox.close();
  });

  it('calls that finish within the drain time complete and are reported completed', async () => {
    world = await startVelaWorld({ budgetUsd: 10 });
    dir = mkdtempSync(join(tmpdir(), 'sluice-sigterm-'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    world.upstream.setScript(() => ({ text: 'one two three four', pauseAfterChunks: 1, gate }));
    const code = await runWorker(world, join(dir, 'outbox.sqlite'), 30_000, () => release());
    await world.velaServer.settled();
    expect(code).toBe(0);
    expect(world.velaServer.admin.audit({ tenant: world.tenantId }).map((r) => r.status)).toEqual(Array(5).fill('completed'));
  });
});
