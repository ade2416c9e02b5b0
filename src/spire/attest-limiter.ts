/**
 * Caps the attestations worked on at once. Anyone who can reach the SPIRE server can open
 * Attest streams (SPIRE opens one plugin stream per agent connection and does not limit them
 * itself); without a cap a burst — a boot storm or a flood of junk — makes every attestation
 * slow, piles up AWS calls until EC2 throttles everyone, and grows memory without bound.
 * Beyond the cap, attestations wait in a bounded FIFO queue; beyond the queue they are
 * refused at once with Unavailable, which SPIRE's agent retries with backoff.
 */
import { unavailable } from "../common/errors";
import { abortReason } from "../common/signals";

/** Attestations in progress at once. Each mostly waits on AWS; 256 keeps EC2 calls batched. */
export const DEFAULT_MAX_CONCURRENT_ATTESTATIONS = 256;
/** Attestations allowed to wait for a slot; past this, Unavailable. */
export const DEFAULT_MAX_QUEUED_ATTESTATIONS = 1024;
export const TOO_MANY_ATTESTATIONS = "too many concurrent attestations";

export interface AttestLimiterOptions {
  maxConcurrent?: number;
  maxQueued?: number;
}

interface Waiter {
  grant(): void;
}

export class AttestLimiter {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  private active = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: AttestLimiterOptions = {}) {
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_ATTESTATIONS);
    this.maxQueued = Math.max(0, options.maxQueued ?? DEFAULT_MAX_QUEUED_ATTESTATIONS);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Resolves with a release function once a slot is free. Rejects with Unavailable when the
   * queue is full, or with the signal's reason when it fires while waiting (the stream was
   * cancelled: its place in the queue is given up).
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.maxConcurrent) {
      this.active += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.queue.length >= this.maxQueued) return Promise.reject(unavailable(TOO_MANY_ATTESTATIONS));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener("abort", abandon);
          this.active += 1;
          resolve(this.releaser());
        },
      };
      const abandon = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortReason(signal));
      };
      signal.addEventListener("abort", abandon, { once: true });
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      const next = this.queue.shift();
      next?.grant();
    };
  }
}
