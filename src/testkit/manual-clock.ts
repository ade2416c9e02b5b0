/**
 * A Clock (src/common/clock.ts) whose time moves only when a test says so: minutes of pacing,
 * backoff and refresh periods run in microseconds, and nothing asserts on wall time.
 */
import type { Clock } from "../common/clock";

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** When the earliest sleeper is due, or undefined when nobody sleeps. */
  nextDue(): number | undefined {
    let due: number | undefined;
    for (const s of this.sleepers) if (due === undefined || s.at < due) due = s.at;
    return due;
  }

  /** Sleepers waiting now. */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way in order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.time = Math.max(this.time, next.at);
      next.resolve();
      await settle();
    }
    this.time = end;
    await settle();
  }

  /** Advances in `stepMs` steps until `done()` or `maxMs` have passed; returns the time taken. */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 100): Promise<number> {
    const start = this.time;
    await settle();
    while (!done() && this.time - start < maxMs) await this.advance(stepMs);
    return this.time - start;
  }
}

/** Lets chains of resolved promises run (a few dozen hops are plenty for the code under test). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}
