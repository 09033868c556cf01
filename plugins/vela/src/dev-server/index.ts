// Why this file exists: the entry point of `@sluice/plugin-vela/dev-server` — a local Vela
// governance server (prepare/report, relay, admin, audit on SQLite) so the plugin, the tests and the
// demo run without the hosted service.

export { startVelaDevServer, DEFAULT_RELAY_TTL_MS } from './server.ts';
export type {
  AuditQuery,
  CreateAppInput,
  CreateDelegationInput,
  CreateTenantInput,
  VelaDevServer,
  VelaDevServerAdmin,
  VelaDevServerOptions,
} from './options.ts';
export { VelaDevServerError, VelaDevServerOptionsError } from './errors.ts';
export { DEFAULT_PRICES } from './pricing.ts';
export type { ModelPrice, PriceTable } from './pricing.ts';
export { seedVelaDemo, DEMO_IDS } from './demo-seed.ts';
export type { VelaDemoSeed } from './demo-seed.ts';
export type { AuditRow, AuditResponse, AuditOutcome, AuditStatus, RelayStatus } from '../protocol.ts';
