// Why this file exists: the routes share one resolved configuration and one database; this is the
// object they receive, built once by the server from its options with every default applied.

import type { VelaDatabase } from './database.ts';
import type { PriceTable } from './pricing.ts';

/** What every route handler gets. */
export interface ServerContext {
  db: VelaDatabase;
  now: () => number;
  prices: Readonly<PriceTable>;
  relayTtlMs: number;
  /** Held when a prepare's estimate is 0. */
  defaultEstimateNano: number;
  /** Base URL for `relay.baseUrl` (without `/relay/v1`); known once the server listens. */
  publicUrl(): string;
  upstream: { baseURL: string; apiKey: string };
  /** SHA-256 hex of the admin token. */
  adminTokenHash: string;
  /** Literal secrets scrubbed from any stored free text (the upstream key, the admin token). */
  knownSecrets: readonly string[];
  /** Abort controllers of relay streams in flight, aborted by `close()`. */
  relays: Set<AbortController>;
}
