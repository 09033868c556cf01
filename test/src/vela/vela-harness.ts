// Why this file exists: every Vela end-to-end test needs the same world — a fake upstream model, a
// local Vela dev server relaying to it with a seeded app, tenant and delegation, and a pipeline with
// the Vela plugin — plus a record of every string that could leak a secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline, type Pipeline, type SluicePlugin, type SluicePluginError } from '@sluice/core';
import { createVelaClient, vela, type VelaPlugin, type VelaPluginOptions } from '@sluice/plugin-vela';
import { startVelaDevServer, type VelaDevServer, type VelaDevServerOptions } from '@sluice/plugin-vela/dev-server';
import { startFakeModelServer, type FakeModelServer } from '../fake-model-server.ts';
import { recordingPlugin, type RecordingPlugin } from '../support/recording-plugin.ts';

export const UPSTREAM_KEY = 'sk-upstream-secret-key-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-secret-token-0123456789abcdef';
export const PRICES = { 'gpt-fake': { inputPerMTokUsd: 1_000, cachedInputPerMTokUsd: 500, outputPerMTokUsd: 2_000 } };

export interface VelaWorld {
  upstream: FakeModelServer;
  velaServer: VelaDevServer;
  dbPath: string;
  appId: string;
  appToken: string;
  tenantId: string;
  delegationId: string;
  scope: { customerTenantId: string; delegationId: string };
  /** Every log line of the dev server. */
  logs: string[];
  /** Every relay key handed out (captured from onAllow). */
  relayKeys: string[];
  pluginErrors: SluicePluginError[];
  recorder: RecordingPlugin;
  plugin: VelaPlugin;
  sluice: Pipeline;
  /** Restarts the dev server on the same port and database (after `velaServer.close()`). */
  restartVela(): Promise<VelaDevServer>;
  close(): Promise<void>;
}

export async function startVelaWorld(options: {
  budgetUsd?: number;
  plugin?: Partial<VelaPluginOptions>;
  server?: Partial<VelaDevServerOptions>;
  extraPlugins?: SluicePlugin[];
} = {}): Promise<VelaWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-vela-'));
  const dbPath = join(dir, 'vela.sqlite');
  const upstream = await startFakeModelServer();
  const logs: string[] = [];
  const serverOptions: VelaDevServerOptions = {
    dbPath,
    upstream: { baseURL: upstream.baseURL, apiKey: UPSTREAM_KEY },
    adminToken: ADMIN_TOKEN,
    prices: PRICES,
    logger: (line) => void logs.push(line),
    ...options.server,
  };
  let velaServer = await startVelaDevServer(serverOptions);
  const { appId, appToken } = velaServer.admin.createApp({ name: 'Test app' });
  const { tenantId } = velaServer.admin.createTenant({ appId, name: 'Tenant one' });
  const { delegationId } = velaServer.admin.createDelegation({ tenantId, ...(options.budgetUsd !== undefined ? { budgetUsd: options.budgetUsd } : {}) });
  const relayKeys: string[] = [];
  const pluginErrors: SluicePluginError[] = [];
  const recorder = recordingPlugin();
  const keyCatcher: SluicePlugin = {
    name: 'key-catcher',
    apply: (hooks) => hooks.onAllow.tap('key-catcher', (_call, allow) => void (allow.relay && relayKeys.push(allow.relay.apiKey))),
  };
  const client = createVelaClient({ baseUrl: velaServer.url, appId, appToken, backoffMs: 1 });
  const plugin = vela({ client, closeTimeoutMs: 2_000, reportRetry: { initialBackoffMs: 10, maxBackoffMs: 50 }, ...options.plugin });
  const sluice = createPipeline({ plugins: [recorder, plugin, keyCatcher, ...(options.extraPlugins ?? [])], onPluginError: (e) => void pluginErrors.push(e) });
  const world: VelaWorld = {
    upstream,
    velaServer,
    dbPath,
    appId,
    appToken,
    tenantId,
    delegationId,
    scope: { customerTenantId: tenantId, delegationId },
    logs,
    relayKeys,
    pluginErrors,
    recorder,
    plugin,
    sluice,
    async restartVela() {
      velaServer = await startVelaDevServer({ ...serverOptions, port: world.velaServer.port });
      world.velaServer = velaServer;
      return velaServer;
    },
    async close() {
      await sluice.close();
      await world.velaServer.close().catch(() => undefined);
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Every secret of the world, to search captured text for. */
export function secretsOf(world: VelaWorld): string[] {
  return [world.appToken, UPSTREAM_KEY, ADMIN_TOKEN, ...world.relayKeys];
}
