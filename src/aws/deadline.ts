/**
 * Deadlines for AWS work. Every call is bounded by `aws_call_timeout`, SPIRE's fixed 20 s made
 * configurable (SPIRE #6558 raised it from 5 s because paging a large organization took 10 s).
 * Shared work (a batched DescribeInstances, a cached profile fetch) runs under its own
 * deadline; each waiting attestation races it against its own, so one caller giving up never
 * cancels the call the others are waiting for.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  remainingMs(): number;
  /** Stops the timer (call when the work finished early). */
  dispose(): void;
}

export function startDeadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const end = Date.now() + timeoutMs;
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`deadline of ${timeoutMs} ms exceeded`, "TimeoutError"));
  }, timeoutMs);
  timer.unref?.();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent !== undefined) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener("abort", onParentAbort, { once: true });
  }
  return {
    signal: controller.signal,
    remainingMs: () => Math.max(0, end - Date.now()),
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/** Settles with `work`, or rejects with `onAbort()` as soon as `signal` aborts. */
export function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(err);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with `onAbort()` when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined, onAbort: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const wait = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return raceAbort(wait, signal, onAbort).finally(() => clearTimeout(timer));
}
