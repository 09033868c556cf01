// Why this file exists: a server receiving SIGTERM with model calls in flight must not lose audit
// records: calls get a moment to finish (or are reported aborted), reports are flushed or left in
// a durable outbox, and only then does the process exit.
import type { Pipeline } from './pipeline.ts';

/** Options of {@link installGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[];
  /** How long calls in flight may take to finish. Default 10,000 ms. */
  drainTimeoutMs?: number;
  /** Runs after the pipeline closed (close your HTTP server, …). */
  onClosed?: () => void | Promise<void>;
  /** Exit the process after closing (default true), with code 0 (1 if closing threw). */
  exit?: boolean;
}

/**
 * On the first of `signals`, closes `pipeline` gracefully (see `Pipeline.close`) and exits.
 * Returns a function that removes the handlers.
 *
 * @example
 * installGracefulShutdown(sluice, { drainTimeoutMs: 5_000, onClosed: () => server.close() });
 */
export function installGracefulShutdown(pipeline: Pipeline, options: GracefulShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let shuttingDown = false;
  const handler = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    void (async () => {
      let code = 0;
      try {
        await pipeline.close({ drainTimeoutMs: options.drainTimeoutMs ?? 10_000 });
        await options.onClosed?.();
      } catch {
        code = 1;
      }
      if (options.exit ?? true) process.exit(code);
    })();
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
