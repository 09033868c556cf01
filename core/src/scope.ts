// Why this file exists: model calls happen deep inside SDK code (an Agents SDK run's third turn)
// where the app cannot pass its tenant; AsyncLocalStorage carries the scope there.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Who a model call is made for. The browser may hold this; it is not a credential. */
export interface ExecutionScope {
  customerTenantId: string;
  delegationId: string;
  userId?: string;
}

const storage = new AsyncLocalStorage<ExecutionScope>();

/** Runs `fn` with `scope` as the current execution scope of every model call made inside it. */
export function withScope<T>(scope: ExecutionScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The execution scope of the current async context, if any. */
export function currentScope(): ExecutionScope | undefined {
  return storage.getStore();
}
