// Why this file exists: the error-isolation rule of the pipeline is enforced once, at tap
// registration, instead of in every plugin: a tap's throw is tagged with the plugin's name and
// either fails the call closed or is handed to `onPluginError` while the other taps still run.
import { ExecutionDeniedError, SluicePluginError } from './errors.ts';

type AnyFn = (...args: unknown[]) => unknown;

interface MutableTap {
  name: string;
  type: 'sync' | 'async' | 'promise';
  fn: AnyFn;
}

/** The part of a tapable hook the guards use (tapable does not export its base `Hook` type). */
export interface InterceptableHook {
  intercept(interceptor: { register: (tap: MutableTap) => MutableTap }): void;
}

/**
 * Whether calling `hook` can do anything. tapable's `hook.isUsed()` counts interceptors too, so on a
 * pipeline's hooks — each carries the guard interceptor below, which acts at registration only — it
 * is always true. Taps, or an interceptor beyond the guard, make the hook worth calling.
 */
export function hookInUse(hook: { readonly taps: readonly unknown[]; readonly interceptors: readonly unknown[] }): boolean {
  return hook.taps.length > 0 || hook.interceptors.length > 1;
}

function tagged(plugin: string, hook: string, error: unknown): Error {
  if (error instanceof SluicePluginError || error instanceof ExecutionDeniedError) return error;
  return new SluicePluginError(plugin, hook, error);
}

/**
 * Taps on this hook fail the call closed: a throw becomes a `SluicePluginError` naming the plugin
 * (an `ExecutionDeniedError` passes through as a denial). `arity` is the hook's argument count (1 or
 * 2): the wrappers take exactly those arguments and the callback, with no rest array or spread per
 * call — these run on every model call.
 */
export function guardFailClosed(hook: InterceptableHook, hookName: string, arity: 1 | 2, options: { stampDecidedBy?: boolean } = {}): void {
  hook.intercept({
    register(tap) {
      const t = tap;
      const plugin = t.name;
      const fn = options.stampDecidedBy ? stampDecidedBy(t.fn, plugin) : t.fn;
      if (t.type === 'promise') {
        const run = (a: unknown, b: unknown): unknown => {
          let result: unknown;
          try {
            result = arity === 1 ? fn(a) : fn(a, b);
          } catch (error) {
            return Promise.reject(tagged(plugin, hookName, error));
          }
          return Promise.resolve(result).catch((error: unknown) => {
            throw tagged(plugin, hookName, error);
          });
        };
        t.fn = run as AnyFn;
      } else if (t.type === 'async') {
        type Callback = (error?: unknown, result?: unknown) => void;
        const run = (a: unknown, b: unknown, c?: unknown): void => {
          const callback = (arity === 1 ? b : c) as Callback;
          const answer: Callback = (error, result) => (error ? callback(tagged(plugin, hookName, error)) : callback(null, result));
          try {
            if (arity === 1) fn(a, answer);
            else fn(a, b, answer);
          } catch (error) {
            callback(tagged(plugin, hookName, error));
          }
        };
        t.fn = run as AnyFn;
      } else {
        const run = (a: unknown, b: unknown): unknown => {
          try {
            return arity === 1 ? fn(a) : fn(a, b);
          } catch (error) {
            throw tagged(plugin, hookName, error);
          }
        };
        t.fn = run as AnyFn;
      }
      return tap;
    },
  });
}

/** Marks a returned decision with the plugin that made it, so denials can name their source. */
function stampDecidedBy(fn: AnyFn, plugin: string): AnyFn {
  const stamp = (result: unknown) => {
    if (typeof result === 'object' && result !== null && (result as { decidedBy?: unknown }).decidedBy === undefined) {
      (result as { decidedBy?: string }).decidedBy = plugin;
    }
    return result;
  };
  // `prepare` taps take the call, and a callback when tapped with tapAsync.
  return (call: unknown, callback?: unknown) => {
    if (typeof callback === 'function') {
      const answer = callback as (error: unknown, result?: unknown) => void;
      return fn(call, (error: unknown, result: unknown) => answer(error, stamp(result)));
    }
    const result = fn(call);
    return result instanceof Promise ? result.then(stamp) : stamp(result);
  };
}

/**
 * Taps on this hook are isolated: a throw or rejection goes to `onError` (tagged with the plugin
 * name) and the hook continues with the next tap as if the tap had returned nothing.
 * Two-argument sync taps get a wrapper without rest parameters: `onEvent` runs per token.
 */
export function guardIsolated(hook: InterceptableHook, hookName: string, onError: (error: SluicePluginError) => void): void {
  const report = (plugin: string, error: unknown) => {
    try {
      onError(error instanceof SluicePluginError ? error : new SluicePluginError(plugin, hookName, error));
    } catch {
      // An error handler that throws must not break the model response either.
    }
  };
  hook.intercept({
    register(tap) {
      const t = tap;
      const fn = t.fn;
      const plugin = t.name;
      if (t.type === 'promise') {
        t.fn = (...args) => {
          let result: unknown;
          try {
            result = fn(...args);
          } catch (error) {
            report(plugin, error);
            return Promise.resolve();
          }
          return Promise.resolve(result).then(undefined, (error: unknown) => report(plugin, error));
        };
      } else if (t.type === 'async') {
        t.fn = (...args) => {
          const callback = args.pop() as (error?: unknown) => void;
          let called = false;
          try {
            fn(...args, (error: unknown) => {
              if (called) return;
              called = true;
              if (error) report(plugin, error);
              callback();
            });
          } catch (error) {
            report(plugin, error);
            if (!called) {
              called = true;
              callback();
            }
          }
        };
      } else {
        const sync = fn as (a: unknown, b: unknown) => unknown;
        t.fn = (a: unknown, b: unknown) => {
          try {
            sync(a, b);
          } catch (error) {
            report(plugin, error);
          }
        };
      }
      return tap;
    },
  });
}
