/**
 * Time for code that paces, backs off or expires things: the real clock in production, a
 * manual one in tests (src/testkit/manual-clock.ts) so that minutes of pacing and refresh
 * periods run without waiting, and a faster one in benchmarks.
 */
import { sleep } from "./signals";

export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason (signals.ts) when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(Math.max(0, ms), signal),
};
