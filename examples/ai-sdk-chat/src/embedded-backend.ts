// Why this file exists: `npm start` and the test need the whole world on one machine with nothing
// to configure — a scripted fake model standing in for OpenAI, and a local Vela dev server (temp
// SQLite) relaying to it, seeded with an app, a tenant, a delegation with a budget, and a second,
// revoked delegation so the page can show a denial. Every secret is generated here, in-process,
// and stays on the server side.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedVelaDemo, startVelaDevServer, type VelaDevServer } from '@sluice/plugin-vela/dev-server';
import { startFakeModelServer, type FakeModelServer } from '@sluice/test/fake-model-server';
import { chatTurn } from './fake-chat-script.ts';
import type { ChatScopes } from './shared/chat-scope.ts';

/** Options of {@link startEmbeddedBackend}. */
export interface EmbeddedBackendOptions {
  /** Delay between the fake model's streamed chunks, to watch the answer stream. Default 0. */
  chunkDelayMs?: number;
  /** Budget of the working delegation. Default $5. */
  budgetUsd?: number;
  /** Receives the dev server's request log lines (never a secret). Default: dropped. */
  logger?: (line: string) => void;
}

/** The running fake model and Vela dev server, and what the chat server needs to use them. */
export interface EmbeddedBackend {
  /** What `startChatServer({ vela })` needs; the app token is a secret: keep it on the server. */
  vela: { baseUrl: string; appId: string; appToken: string };
  /** The ids the page may use (no secrets). */
  scopes: Required<ChatScopes>;
  /** The settled cost of these executions from Vela's audit; undefined until all are reported and priced. */
  executionCostUsd(executionIds: readonly string[]): number | undefined;
  /** The server-side secrets, named, for leak checks. Never send them anywhere. */
  readonly secrets: Readonly<{ appToken: string; adminToken: string; upstreamKey: string }>;
  velaServer: VelaDevServer;
  fakeModel: FakeModelServer;
  close(): Promise<void>;
}

const secret = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

/** Starts the fake model and a seeded local Vela dev server on free ports. */
export async function startEmbeddedBackend(options: EmbeddedBackendOptions = {}): Promise<EmbeddedBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ai-sdk-chat-'));
  const appToken = secret('vat_');
  const adminToken = secret('vadm_');
  const upstreamKey = secret('sk-upstream-');
  const chunkDelayMs = options.chunkDelayMs ?? 0;
  const fakeModel = await startFakeModelServer({ script: (request) => chatTurn(request, { chunkDelayMs }) });
  let velaServer: VelaDevServer;
  try {
    velaServer = await startVelaDevServer({
      dbPath: join(dir, 'vela.sqlite'),
      upstream: { baseURL: fakeModel.baseURL, apiKey: upstreamKey },
      adminToken,
      ...(options.logger ? { logger: options.logger } : { logger: () => {} }),
    });
  } catch (error) {
    await fakeModel.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const seed = seedVelaDemo(velaServer, { appToken, budgetUsd: options.budgetUsd ?? 5 });
  const revokedId = `${seed.delegationId}-revoked`;
  velaServer.admin.createDelegation({ delegationId: revokedId, tenantId: seed.tenantId, budgetUsd: 5 });
  velaServer.admin.revokeDelegation(revokedId);

  return {
    vela: { baseUrl: velaServer.url, appId: seed.appId, appToken },
    scopes: {
      active: { customerTenantId: seed.tenantId, delegationId: seed.delegationId },
      revoked: { customerTenantId: seed.tenantId, delegationId: revokedId },
    },
    executionCostUsd(executionIds) {
      if (executionIds.length === 0) return undefined;
      const wanted = new Set(executionIds);
      const rows = velaServer.admin.audit({ tenant: seed.tenantId }).filter((row) => wanted.has(row.executionId));
      if (rows.length !== wanted.size || rows.some((row) => row.reportedAt === null || row.costUsd === null)) return undefined;
      return rows.reduce((sum, row) => sum + (row.costUsd ?? 0), 0);
    },
    secrets: Object.freeze({ appToken, adminToken, upstreamKey }),
    velaServer,
    fakeModel,
    async close() {
      await velaServer.close();
      await fakeModel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
