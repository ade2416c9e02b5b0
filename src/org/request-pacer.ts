/**
 * Client-side pacing of ListAccounts pages. The management account's ListAccounts bucket
 * (8 req/s, burst 12) is shared by every caller in that account; SPIRE read pages back to
 * back, and 5 replicas × 40 pages starved the other callers (SPIRE #7079). Pacing below the
 * bucket keeps a listing from being the reason someone else gets TooManyRequestsException.
 */
export class RequestPacer {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError("pacer needs perSecond > 0 and burst >= 1");
    this.tokens = burst;
    this.last = now();
  }

  /** Waits for a token, first come first served. Rejects when `signal` aborts. */
  take(signal: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken(signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async waitForToken(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000), signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
