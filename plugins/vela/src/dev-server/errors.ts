// Why this file exists: every refusal the dev server answers with (400, 401, 404, 409, 413, …) is one
// error class with a stable `code` and, for bad input, the offending `field`, so route code can throw
// it from anywhere and the server turns it into the protocol's `{ "error": { code, message, field } }`.
// Messages never contain a secret: they name fields and ids, never token values.

/**
 * An error the dev server answers with. Also thrown by the in-process admin helpers
 * ({@link VelaDevServer.admin}) for the same bad input the admin HTTP API would refuse.
 */
export class VelaDevServerError extends Error {
  override readonly name = 'VelaDevServerError';
  /** Stable, branchable code, e.g. `invalid_request`, `unauthorized`, `unknown_tenant`. */
  readonly code: string;
  /** HTTP status the server answers with. */
  readonly status: number;
  /** The offending field (`executionScope.customerTenantId`, `Idempotency-Key`, …), for bad input. */
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** 400 `invalid_request` naming the field and what would be valid. */
export function invalidField(field: string, expected: string): VelaDevServerError {
  return new VelaDevServerError(400, 'invalid_request', `${field}: expected ${expected}`, field);
}

/** Thrown by {@link startVelaDevServer} for options it cannot start with. */
export class VelaDevServerOptionsError extends Error {
  override readonly name = 'VelaDevServerOptionsError';
  readonly code = 'invalid_options';
  /** The offending option, e.g. `upstream.baseURL`. */
  readonly field: string;

  constructor(field: string, expected: string) {
    super(`startVelaDevServer: ${field}: expected ${expected}`);
    this.field = field;
  }
}
