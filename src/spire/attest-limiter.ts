/**
 * Admission control for Attest streams. Anyone who can reach the SPIRE server can open Attest
 * streams (SPIRE opens one plugin stream per agent connection and does not limit them itself);
 * unchecked, a burst — a boot storm or a flood of junk — makes every attestation slow, piles up
 * AWS calls until EC2 throttles everyone, and grows memory until the process is killed (and
 * SPIRE never restarts a plugin). So an attestation is admitted only within four bounds:
 *
 * - slots: at most `maxConcurrent` attestations are worked on at once; beyond that they wait
 *   in a bounded FIFO queue, and beyond the queue they are refused with Unavailable, which
 *   SPIRE's agent retries with backoff. A stream waiting for the agent (a challenge answer)
 *   gives its slot back and takes one again, ahead of the queue, when the answer arrives;
 * - bytes: the messages held by admitted streams (queued, running or waiting on the agent)
 *   total at most `maxBytes`; beyond that ResourceExhausted;
 * - per address: one agent address (SPIRE's x-forwarded-client-ip) has at most `maxPerSource`
 *   attestations admitted at once, so one source cannot take every slot; beyond that
 *   ResourceExhausted. Streams without an address (SPIRE before 1.15.2) are not counted;
 * - challenges: at most `maxPendingChallenges` streams wait on the agent at once (each for at
 *   most its challenge's lifetime, which the plugin sets); beyond that ResourceExhausted.
 *
 * The first message's size and shape are checked by the plugin before `admit` (see
 * server-attestor-service.ts), so a malformed or oversized payload never waits here.
 */
import { type PluginError, resourceExhausted, unavailable } from "../common/errors";
import { abortReason } from "../common/signals";

/** Attestations in progress at once. Each mostly waits on AWS; 256 keeps EC2 calls batched. */
export const DEFAULT_MAX_CONCURRENT_ATTESTATIONS = 256;
/**
 * Attestations allowed to wait for a slot; past this, Unavailable. Sized for a boot storm: when
 * 5,000 instances start at once, SPIRE opens 5,000 streams within seconds, and with 1,024 waiting
 * 836 of them were refused (their agents retry, but each refusal is an error in the agent's log
 * and a delay of its backoff). What a waiting stream holds is its first message (counted against
 * the byte budget below) and its gRPC stream state; measured in the 5,000-instance storm
 * (scripts/bench/attest-storm.ts) with every stream admitted: see docs/security.md.
 */
export const DEFAULT_MAX_QUEUED_ATTESTATIONS = 8192;
/**
 * Bytes held by admitted streams. An honest aws_iid payload is ~3 KiB and an aws_iam answer
 * ~2–4 KiB, so 32 MiB holds thousands of honest attestations while a flood of 64 KiB payloads
 * stops at 512 of them (tens of MiB of heap, not GiB).
 */
export const DEFAULT_MAX_ATTESTATION_BYTES = 32 * 1024 * 1024;
/** Attestations one agent address may have admitted at once: a quarter of the slots. */
export const DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS = 64;
/** Streams waiting on the agent for a challenge answer at once. */
export const DEFAULT_MAX_PENDING_CHALLENGES = 4096;
export const TOO_MANY_ATTESTATIONS = "too many concurrent attestations";

export interface AttestLimits {
  maxConcurrent: number;
  maxQueued: number;
  maxBytes: number;
  /** 0: no per-address bound. */
  maxPerSource: number;
  maxPendingChallenges: number;
}

export const DEFAULT_ATTEST_LIMITS: Readonly<AttestLimits> = {
  maxConcurrent: DEFAULT_MAX_CONCURRENT_ATTESTATIONS,
  maxQueued: DEFAULT_MAX_QUEUED_ATTESTATIONS,
  maxBytes: DEFAULT_MAX_ATTESTATION_BYTES,
  maxPerSource: DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS,
  maxPendingChallenges: DEFAULT_MAX_PENDING_CHALLENGES,
};

/** What one stream asks to be admitted with. */
export interface AdmissionRequest {
  /** Size of the first message. */
  bytes: number;
  /** The agent's address as SPIRE saw it, when SPIRE passed one. */
  source: string | undefined;
}

/** One admitted stream's hold on the limiter. */
export interface Admission {
  /** Counts more bytes this stream holds (a challenge answer); ResourceExhausted beyond the budget. */
  hold(bytes: number): void;
  /**
   * Gives the slot back while the stream waits on the agent. ResourceExhausted when
   * `maxPendingChallenges` streams already wait.
   */
  suspend(): void;
  /** Takes a slot again after `suspend`, ahead of new attestations. */
  resume(signal: AbortSignal): Promise<void>;
  /** Gives everything back; idempotent. */
  release(): void;
}

interface Waiter {
  grant(): void;
}

export class AttestLimiter {
  private limits: AttestLimits;
  private active = 0;
  private suspended = 0;
  private bytes = 0;
  private readonly perSource = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(limits: Partial<AttestLimits> = {}) {
    this.limits = normalise({ ...DEFAULT_ATTEST_LIMITS, ...limits });
  }

  /** Applies new limits (a reconfigure); admitted streams keep what they hold. */
  setLimits(limits: Partial<AttestLimits>): void {
    this.limits = normalise({ ...this.limits, ...limits });
  }

  get maxConcurrent(): number {
    return this.limits.maxConcurrent;
  }

  get maxQueued(): number {
    return this.limits.maxQueued;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Streams waiting on the agent (suspended). */
  get waitingOnAgent(): number {
    return this.suspended;
  }

  /** Bytes held by admitted streams. */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Resolves with the stream's admission once a slot is free. Rejects with ResourceExhausted
   * beyond the byte budget or the per-address bound, with Unavailable when the queue is full,
   * or with the signal's reason when it fires while waiting (the stream was cancelled: its place
   * in the queue is given up).
   */
  admit(signal: AbortSignal, request: AdmissionRequest): Promise<Admission> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const { maxBytes, maxPerSource } = this.limits;
    if (this.bytes + request.bytes > maxBytes) {
      return Promise.reject(
        resourceExhausted(
          `attestations in progress hold ${this.bytes} bytes; admitting ${request.bytes} more would pass the ${maxBytes}-byte limit (attestation_memory_limit_mib)`,
        ),
      );
    }
    const source = request.source;
    if (source !== undefined && maxPerSource > 0 && (this.perSource.get(source) ?? 0) >= maxPerSource) {
      return Promise.reject(
        resourceExhausted(
          `${maxPerSource} attestations from ${source} are already in progress (max_attestations_per_address)`,
        ),
      );
    }
    const admission = new StreamAdmission(this, request.bytes, source);
    return this.takeSlot(signal, false).then(
      () => {
        admission.running = true;
        return admission;
      },
      (err: unknown) => {
        admission.release();
        throw err;
      },
    );
  }

  /** @internal accounting for StreamAdmission */
  count(bytes: number, source: string | undefined, sign: 1 | -1): void {
    this.bytes += sign * bytes;
    if (source === undefined) return;
    const n = (this.perSource.get(source) ?? 0) + sign;
    if (n <= 0) this.perSource.delete(source);
    else this.perSource.set(source, n);
  }

  /** @internal */
  canHold(bytes: number): PluginError | undefined {
    if (this.bytes + bytes <= this.limits.maxBytes) return undefined;
    return resourceExhausted(
      `attestations in progress hold ${this.bytes} bytes; ${bytes} more would pass the ${this.limits.maxBytes}-byte limit (attestation_memory_limit_mib)`,
    );
  }

  /** @internal */
  suspendOne(): void {
    if (this.suspended >= this.limits.maxPendingChallenges) {
      throw resourceExhausted(
        `${this.limits.maxPendingChallenges} attestations are already waiting for a challenge answer`,
      );
    }
    this.suspended += 1;
    this.freeSlot();
  }

  /** @internal */
  unsuspendOne(): void {
    this.suspended -= 1;
  }

  /** @internal */
  takeSlot(signal: AbortSignal, resuming: boolean): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.limits.maxConcurrent) {
      this.active += 1;
      return Promise.resolve();
    }
    // A stream coming back with its agent's answer has waited once already: it goes first and
    // is not refused for a full queue (how many can come back is bounded by maxPendingChallenges).
    if (!resuming && this.queue.length >= this.limits.maxQueued) {
      return Promise.reject(unavailable(TOO_MANY_ATTESTATIONS));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener("abort", abandon);
          this.active += 1;
          resolve();
        },
      };
      const abandon = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortReason(signal));
      };
      signal.addEventListener("abort", abandon, { once: true });
      if (resuming) this.queue.unshift(waiter);
      else this.queue.push(waiter);
    });
  }

  /** @internal */
  freeSlot(): void {
    this.active -= 1;
    const next = this.queue.shift();
    next?.grant();
  }
}

class StreamAdmission implements Admission {
  running = false;
  private suspended = false;
  private released = false;
  private bytes: number;

  constructor(
    private readonly limiter: AttestLimiter,
    bytes: number,
    private readonly source: string | undefined,
  ) {
    this.bytes = bytes;
    limiter.count(bytes, source, 1);
  }

  hold(bytes: number): void {
    if (this.released) return;
    const refused = this.limiter.canHold(bytes);
    if (refused !== undefined) throw refused;
    this.bytes += bytes;
    this.limiter.count(bytes, undefined, 1);
  }

  suspend(): void {
    if (this.released || !this.running) return;
    this.limiter.suspendOne();
    this.running = false;
    this.suspended = true;
  }

  async resume(signal: AbortSignal): Promise<void> {
    if (this.released || !this.suspended) return;
    this.suspended = false;
    this.limiter.unsuspendOne();
    await this.limiter.takeSlot(signal, true);
    if (this.released) {
      // Released while queued for the slot (cannot happen through the service, which releases
      // only after resume settles); give the slot straight back.
      this.limiter.freeSlot();
      return;
    }
    this.running = true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.suspended) {
      this.suspended = false;
      this.limiter.unsuspendOne();
    }
    if (this.running) {
      this.running = false;
      this.limiter.freeSlot();
    }
    this.limiter.count(this.bytes, this.source, -1);
  }
}

function normalise(l: AttestLimits): AttestLimits {
  return {
    maxConcurrent: Math.max(1, l.maxConcurrent),
    maxQueued: Math.max(0, l.maxQueued),
    maxBytes: Math.max(1, l.maxBytes),
    maxPerSource: Math.max(0, l.maxPerSource),
    maxPendingChallenges: Math.max(0, l.maxPendingChallenges),
  };
}
