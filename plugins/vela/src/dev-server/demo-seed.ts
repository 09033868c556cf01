// Why this file exists: the demo (and anyone trying the plugin by hand) needs one app, tenant and
// delegation to exist before the first call. Seeding goes through the admin helpers like any test
// would, and takes the app token from the caller so the same `VELA_APP_TOKEN` can be given to both
// the server and the app without the server ever printing it.

import { VelaDevServerError } from './errors.ts';
import type { VelaDevServer } from './options.ts';

/** The ids the demo seed uses. */
export const DEMO_IDS = Object.freeze({
  appId: 'demo-app',
  tenantId: 'demo-tenant',
  delegationId: 'demo-delegation',
});

/** What {@link seedVelaDemo} created or found. */
export interface VelaDemoSeed {
  appId: string;
  tenantId: string;
  delegationId: string;
  /** Whether the app was created now (false: it already existed in the database, with its old token). */
  created: boolean;
}

function ignoreExisting(create: () => unknown): boolean {
  try {
    create();
    return true;
  } catch (error) {
    if (error instanceof VelaDevServerError && error.code === 'already_exists') return false;
    throw error;
  }
}

/**
 * Creates the demo app (with `appToken`), tenant and delegation ($5 budget, any model) unless they
 * exist. Safe to call on every start with the same database.
 */
export function seedVelaDemo(server: Pick<VelaDevServer, 'admin'>, options: { appToken: string; budgetUsd?: number }): VelaDemoSeed {
  const created = ignoreExisting(() => server.admin.createApp({ appId: DEMO_IDS.appId, name: 'Demo app', appToken: options.appToken }));
  ignoreExisting(() => server.admin.createTenant({ tenantId: DEMO_IDS.tenantId, appId: DEMO_IDS.appId, name: 'Demo tenant' }));
  ignoreExisting(() =>
    server.admin.createDelegation({ delegationId: DEMO_IDS.delegationId, tenantId: DEMO_IDS.tenantId, budgetUsd: options.budgetUsd ?? 5 }),
  );
  return { ...DEMO_IDS, created };
}
