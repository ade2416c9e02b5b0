/**
 * Cancellation, one way for the whole plugin (after connect-es's protocol/signals.ts).
 *
 * - Work that can be given up takes an AbortSignal. Whoever aborts a signal passes the
 *   PluginError that explains why as its reason (the attestation stream: Cancelled; a deadline:
 *   Unavailable "... did not complete within ..."), so the code that notices the abort just
 *   rethrows `abortReason(signal)` and never needs a callback to word the error.
 * - Signals are linked with AbortSignal.any and waits use node:timers/promises, which remove
 *   their listeners themselves.
 * - `startDeadline` keeps its own clearable timer instead of AbortSignal.timeout: a deadline
 *   (aws_call_timeout, 20 s by default) almost always outlives the work it bounds, and an
 *   AbortSignal.timeout timer cannot be stopped, so every finished call would keep its timer and
 *   signal alive until the full timeout. AbortSignal.timeout stays right for short per-attempt
 *   bounds whose reason nobody reads (one IMDS request, the STS forward).
 */
import { setTimeout as delay } from "node:timers/promises";
import { Code, PluginError, unavailable } from "./errors";

/** The reason a stream's signal carries when SPIRE cancels the call. */
export const cancelled = (what = "attestation cancelled"): PluginError =>
  new PluginError(Code.Cancelled, what);

/**
 * The PluginError a fired signal stands for: its reason when that is one; Unavailable for a
 * bare AbortSignal.timeout; Cancelled for any other reason (a plain `controller.abort()`).
 */
export function abortReason(signal: AbortSignal): PluginError {
  const reason: unknown = signal.reason;
  if (reason instanceof PluginError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return unavailable(`timed out: ${reason.message}`, reason);
  }
  return new PluginError(Code.Cancelled, "cancelled", { cause: reason });
}

/** Throws `abortReason(signal)` if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/**
 * Settles like `work`, or rejects with `abortReason(signal)` as soon as the signal fires. The
 * work is not stopped (pass the signal into it for that); its late rejection is swallowed.
 */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(abortReason(signal));
    signal.addEventListener("abort", abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** Resolves after `ms`, or rejects with `abortReason(signal)` when the signal fires first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  // No timer for no wait: a retry loop with zero backoff must not pay a timer turn per attempt.
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (err) {
    if (signal?.aborted === true) throw abortReason(signal);
    throw err;
  }
}

export interface Deadline {
  /** Fires with the timeout reason after the time is up, or with a parent's reason. */
  readonly signal: AbortSignal;
  remainingMs(): number;
  /** Stops the timer; call it (in a finally) once the work is over. */
  dispose(): void;
}

/**
 * A signal that fires after `timeoutMs` with `onTimeout()` as its reason, or earlier when a
 * parent fires (with the parent's reason). Shared work runs under a deadline of its own, not its
 * first caller's, so one caller giving up never cancels what the others wait for.
 */
export function startDeadline(
  timeoutMs: number,
  onTimeout: () => PluginError,
  ...parents: readonly (AbortSignal | undefined)[]
): Deadline {
  const timer = new AbortController();
  const end = Date.now() + timeoutMs;
  const handle = setTimeout(() => timer.abort(onTimeout()), timeoutMs);
  handle.unref();
  const linked = parents.filter((s): s is AbortSignal => s !== undefined);
  return {
    signal: linked.length === 0 ? timer.signal : AbortSignal.any([...linked, timer.signal]),
    remainingMs: () => Math.max(0, end - Date.now()),
    dispose: () => clearTimeout(handle),
  };
}
