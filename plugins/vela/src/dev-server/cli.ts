#!/usr/bin/env -S node --conditions=sluice:source
// Why this file exists: `sluice-vela-dev` runs the dev server from a shell for demos and manual
// testing. Secrets come only from environment variables named by flags, and nothing secret is ever
// printed: the CLI prints the URL and ids, never a token or key.

import { parseArgs } from 'node:util';
import { DEMO_IDS, seedVelaDemo } from './demo-seed.ts';
import { generateSecret } from './secrets.ts';
import { startVelaDevServer } from './server.ts';

const USAGE = `Usage: sluice-vela-dev [options]
  --port <n>                 port (default 4000; 0 = any free port)
  --host <host>              interface (default 127.0.0.1)
  --db <path>                SQLite file (default :memory:)
  --upstream-url <url>       OpenAI-compatible base URL (default https://api.openai.com/v1)
  --upstream-key-env <name>  env var holding the upstream key (default OPENAI_API_KEY)
  --admin-token-env <name>   env var holding the admin token (default VELA_ADMIN_TOKEN)
  --app-token-env <name>     env var holding the demo app token, with --seed-demo (default VELA_APP_TOKEN)
  --relay-ttl-ms <n>         relay key lifetime (default 60000)
  --public-url <url>         base URL put in relay.baseUrl (default the server's own)
  --seed-demo                create app ${DEMO_IDS.appId}, tenant ${DEMO_IDS.tenantId}, delegation ${DEMO_IDS.delegationId}
  --help`;

function fail(message: string): never {
  process.stderr.write(`sluice-vela-dev: ${message}\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) fail(`--${name}: expected a non-negative integer`);
  return n;
}

function envName(value: string | undefined, fallback: string, flag: string): string {
  const name = value ?? fallback;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`--${flag}: expected an environment variable name`);
  return name;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        'upstream-url': { type: 'string' },
        'upstream-key-env': { type: 'string' },
        'admin-token-env': { type: 'string' },
        'app-token-env': { type: 'string' },
        'relay-ttl-ms': { type: 'string' },
        'public-url': { type: 'string' },
        'seed-demo': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const upstreamKeyEnv = envName(values['upstream-key-env'], 'OPENAI_API_KEY', 'upstream-key-env');
  const upstreamKey = process.env[upstreamKeyEnv];
  if (upstreamKey === undefined || upstreamKey === '') fail(`environment variable ${upstreamKeyEnv} (the upstream key) is not set`);

  const adminTokenEnv = envName(values['admin-token-env'], 'VELA_ADMIN_TOKEN', 'admin-token-env');
  const adminFromEnv = process.env[adminTokenEnv];
  // Without a configured admin token the admin API stays closed: a random token nobody is shown.
  const adminToken = adminFromEnv !== undefined && adminFromEnv !== '' ? adminFromEnv : generateSecret('vadm_');

  let appToken: string | undefined;
  if (values['seed-demo']) {
    const appTokenEnv = envName(values['app-token-env'], 'VELA_APP_TOKEN', 'app-token-env');
    appToken = process.env[appTokenEnv];
    if (appToken === undefined || appToken === '') fail(`--seed-demo: environment variable ${appTokenEnv} (the demo app token) is not set`);
  }

  const server = await startVelaDevServer({
    port: integer(values.port, 'port', 4000),
    ...(values.host !== undefined ? { host: values.host } : {}),
    dbPath: values.db ?? ':memory:',
    upstream: { baseURL: values['upstream-url'] ?? 'https://api.openai.com/v1', apiKey: upstreamKey },
    adminToken,
    relayTtlMs: integer(values['relay-ttl-ms'], 'relay-ttl-ms', 60_000),
    ...(values['public-url'] !== undefined ? { publicUrl: values['public-url'] } : {}),
    logger: (line) => process.stdout.write(`${line}\n`),
  });

  process.stdout.write(`Vela dev server listening on ${server.url}\n`);
  if (adminFromEnv === undefined || adminFromEnv === '') {
    process.stdout.write(`admin API closed: set ${adminTokenEnv} to use it\n`);
  }
  if (appToken !== undefined) {
    const seed = seedVelaDemo(server, { appToken });
    process.stdout.write(
      `demo: VELA_APP_ID=${seed.appId} tenant=${seed.tenantId} delegation=${seed.delegationId}` +
        `${seed.created ? '' : ' (already in the database; its app token is the one it was seeded with)'}\n`,
    );
  }

  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

try {
  await main();
} catch (error) {
  // Option and startup errors name fields and addresses, never secret values.
  fail(error instanceof Error ? error.message : String(error));
}
