/**
 * Client-side token bucket for AWS APIs whose quota is shared: every SPIRE server replica and
 * every other tool calling with the same account draws from one AWS bucket (Organizations:
 * ListAccounts 8 req/s burst 12, DescribeAccount 20 req/s burst 30 per account). SPIRE read
 * ListAccounts pages back to back, and 5 replicas × 40 pages starved everyone (SPIRE #7079):
 * each caller here takes a token first, so a replica's share is a rate, not a race.
 *
 * Reservations: a caller takes its token at once and sleeps off the debt, so waiters are
 * served in arrival order without a queue, and a caller that will not wait long can ask how
 * long the wait would be before joining.
 */
import { type Clock, realClock } from "../common/clock";

export class RequestPacer {
  private tokens: number;
  private last: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError("pacer needs perSecond > 0 and burst >= 1");
    this.tokens = burst;
    this.last = clock.now();
  }

  /** How long a token taken now would make its caller wait, in ms. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  /**
   * Takes a token, waiting for it when the bucket is empty. Resolves false without taking one
   * when the wait would exceed `maxWaitMs`; rejects (giving the token back) when `signal` aborts.
   */
  async take(signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    signal?.throwIfAborted();
    const wait = this.waitMs();
    if (wait > maxWaitMs) return false;
    this.tokens -= 1;
    if (wait > 0) {
      try {
        await this.clock.sleep(wait, signal);
      } catch (err) {
        this.tokens += 1;
        throw err;
      }
    }
    return true;
  }

  private refill(): void {
    const t = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }
}
