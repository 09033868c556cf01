// Why this file exists: a Vela failure must say which Vela (URL) and what happened, be branchable
// by `code`, and never carry the app token or a relay key.

/** Vela could not be reached, timed out, or kept answering 5xx after the retries. */
export class VelaUnavailableError extends Error {
  override readonly name = 'VelaUnavailableError';
  readonly code = 'VELA_UNAVAILABLE';
  /** The Vela base URL that was tried. */
  readonly baseUrl: string;
  readonly reason: 'network' | 'timeout' | 'server_error';
  readonly attempts: number;
  /** The last HTTP status, for `server_error`. */
  readonly statusCode: number | undefined;

  constructor(init: { baseUrl: string; path: string; reason: VelaUnavailableError['reason']; attempts: number; statusCode?: number; detail: string; cause?: unknown }) {
    super(`Vela at ${init.baseUrl} is unavailable for ${init.path}: ${init.detail} (after ${init.attempts} attempt${init.attempts === 1 ? '' : 's'})`, { cause: init.cause });
    this.baseUrl = init.baseUrl;
    this.reason = init.reason;
    this.attempts = init.attempts;
    this.statusCode = init.statusCode;
  }
}

/** Vela refused the request (4xx): bad credentials, invalid body, unknown execution. Not retried. */
export class VelaRequestError extends Error {
  override readonly name = 'VelaRequestError';
  readonly code = 'VELA_REQUEST_REJECTED';
  readonly statusCode: number;
  /** Vela's error code, e.g. `unauthorized`, `invalid_request`, `unknown_execution`. */
  readonly velaCode: string;
  /** The offending field, for `invalid_request`. */
  readonly field: string | undefined;

  constructor(init: { baseUrl: string; path: string; statusCode: number; velaCode: string; message: string; field?: string | undefined }) {
    super(`Vela at ${init.baseUrl} rejected ${init.path} (${init.statusCode} ${init.velaCode}): ${init.message}`);
    this.statusCode = init.statusCode;
    this.velaCode = init.velaCode;
    this.field = init.field;
  }
}

/** Vela answered something that is not the protocol (garbage JSON, a missing field). */
export class VelaProtocolError extends Error {
  override readonly name = 'VelaProtocolError';
  readonly code = 'VELA_PROTOCOL_ERROR';
  readonly statusCode: number;

  constructor(baseUrl: string, path: string, statusCode: number, problem: string) {
    super(`Vela at ${baseUrl} answered ${path} with an invalid body (${statusCode}): ${problem}`);
    this.statusCode = statusCode;
  }
}

/** The Vela environment variables are missing or malformed. Names the variables, never their values. */
export class VelaEnvironmentError extends Error {
  override readonly name = 'VelaEnvironmentError';
  readonly code = 'VELA_ENVIRONMENT_INVALID';
  readonly problems: ReadonlyArray<{ variable: string; message: string }>;

  constructor(problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`Vela is not configured: ${problems.map((p) => p.message).join('; ')}`);
    this.problems = problems;
  }
}
