// Why this file exists: most Vela misconfigurations are environment variables; diagnostics name
// each missing or malformed one (never its value) so a route can answer a useful 500 at start-up.
import { createVelaClient, type VelaClient, type VelaClientOptions } from './vela-client.ts';
import { VelaEnvironmentError } from './errors.ts';

/** One environment problem: which variable, and what is wrong with it (no value echoed). */
export interface VelaEnvironmentProblem {
  variable: 'VELA_APP_ID' | 'VELA_APP_TOKEN' | 'VELA_BASE_URL';
  message: string;
}

/** Result of {@link getVelaEnvironmentDiagnostics}. */
export interface VelaEnvironmentDiagnostics {
  ok: boolean;
  problems: VelaEnvironmentProblem[];
}

type Env = Record<string, string | undefined>;

/** Checks `VELA_APP_ID`, `VELA_APP_TOKEN` (required) and `VELA_BASE_URL` (optional http(s) URL). */
export function getVelaEnvironmentDiagnostics({ env = process.env }: { env?: Env } = {}): VelaEnvironmentDiagnostics {
  const problems: VelaEnvironmentProblem[] = [];
  const required = (variable: 'VELA_APP_ID' | 'VELA_APP_TOKEN') => {
    const value = env[variable];
    if (value === undefined || value === '') problems.push({ variable, message: `${variable} is missing` });
    else if (value.trim() !== value) problems.push({ variable, message: `${variable} has leading or trailing whitespace` });
    else if (/\s/.test(value)) problems.push({ variable, message: `${variable} contains whitespace` });
  };
  required('VELA_APP_ID');
  required('VELA_APP_TOKEN');
  const token = env.VELA_APP_TOKEN;
  if (token && !problems.some((p) => p.variable === 'VELA_APP_TOKEN') && token.length < 16) {
    problems.push({ variable: 'VELA_APP_TOKEN', message: 'VELA_APP_TOKEN is too short to be a Vela app token (expected at least 16 characters)' });
  }
  const base = env.VELA_BASE_URL;
  if (base !== undefined && base !== '') {
    let url: URL | undefined;
    try {
      url = new URL(base);
    } catch {
      problems.push({ variable: 'VELA_BASE_URL', message: 'VELA_BASE_URL is not an absolute URL (expected e.g. http://localhost:4000)' });
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push({ variable: 'VELA_BASE_URL', message: 'VELA_BASE_URL must use http: or https:' });
    else if (url && (url.username || url.password)) problems.push({ variable: 'VELA_BASE_URL', message: 'VELA_BASE_URL must not contain credentials' });
  }
  return { ok: problems.length === 0, problems };
}

/**
 * A Vela client from `VELA_APP_ID`, `VELA_APP_TOKEN` and `VELA_BASE_URL` (default http://localhost:4000).
 * Throws {@link VelaEnvironmentError} naming every problem.
 */
export function createVelaClientFromEnvironment(env: Env = process.env, options: Omit<VelaClientOptions, 'appId' | 'appToken' | 'baseUrl'> = {}): VelaClient {
  const diagnostics = getVelaEnvironmentDiagnostics({ env });
  if (!diagnostics.ok) throw new VelaEnvironmentError(diagnostics.problems);
  return createVelaClient({ ...options, appId: env.VELA_APP_ID!, appToken: env.VELA_APP_TOKEN!, ...(env.VELA_BASE_URL ? { baseUrl: env.VELA_BASE_URL } : {}) });
}

/** A ready 500 JSON `Response` naming the configuration problems, for route handlers. */
export function createVelaEnvironmentDiagnosticsResponse(diagnostics: VelaEnvironmentDiagnostics): Response {
  return Response.json(
    { error: { code: 'vela_misconfigured', message: 'Vela is not configured on this server', problems: diagnostics.problems } },
    { status: 500 },
  );
}
