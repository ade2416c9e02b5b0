/**
 * DescribeInstances micro-batching and pacing (issue 9). When an Auto Scaling group launches
 * 1,000 instances, SPIRE makes 1,000 DescribeInstances calls against EC2's per-account-and-
 * region bucket (burst 100, refill 20/s): the storm throttles, agents retry, and the
 * operator's other tools are throttled too. Here lookups for the same (account, region) —
 * hence the same credentials — share calls.
 *
 * When a call goes out (per key):
 * - Idle (no call for this key in the last window): the lookup is sent on the next turn of
 *   the event loop (setImmediate), so lookups that arrive in the same I/O phase share the call
 *   but a lone attestation never waits for company that is not coming.
 * - Under load (a call went out less than one window ago): everything that arrives joins the
 *   next call, sent one window after the previous one. So the window bounds the call rate per
 *   account and region (at most one partial call per window; the default 200 ms is 5 calls/s
 *   per replica against EC2's refill of 20/s, which the operator's other tools share), not
 *   the latency of an idle lookup. A fixed 10 ms collection window did neither: through the
 *   plugin a storm's lookups arrive spread over seconds (payload verification is CPU-bound),
 *   so each window held ~16 IDs and a 1,000-node storm cost 63 calls; and every idle lookup
 *   waited the full 10 ms.
 * - 200 IDs waiting: sent at once, whatever the pacing (holding a full call back saves no
 *   call, it only delays answers). Larger backlogs are split into concurrent calls of 200.
 * The cost: with a closed loop of C attestations always in flight for one account and region,
 * at most C IDs ride each call, so throughput is bounded by C per window (64 / 200 ms = 320/s).
 * A window of 0 keeps SPIRE's pattern: one call per lookup, no batching, no pacing.
 *
 * How the call is made, and why:
 * - The `instance-id` filter, not `InstanceIds`. With InstanceIds one unknown ID fails the
 *   whole call (InvalidInstanceID.NotFound), and a just-launched instance is briefly unknown
 *   because DescribeInstances is eventually consistent; one such instance would fail 199
 *   others or force a split-and-retry. A filter simply omits unknown IDs, so each caller gets
 *   its own answer from one response.
 * - At most 200 IDs per call: EC2 refuses more than 200 filter values per call
 *   (FilterLimitExceeded).
 * - No `instance-state-name` filter (SPIRE's): a stopped or terminated instance comes back,
 *   so we can say "instance i-… is stopped" instead of "not found".
 * - MaxResults 1000 with NextToken pagination: a filtered, paginated call uses EC2's normal
 *   Describe* bucket, never the smaller unfiltered one (50, 10/s).
 *
 * The batcher only groups, paces and fans out; the fetch function does the AWS call, retries
 * and classification. A failed call rejects exactly the lookups it carried. A caller whose
 * signal aborts is answered at once; if its lookup was still waiting, its ID leaves the next
 * call (unless another caller wants the same instance), so a cancelled attestation costs no
 * AWS capacity. A call already sent is never cancelled for one caller: others share it.
 */
export interface BatchTarget {
  /** Lookups with the same key share calls: account|region (credentials follow the account). */
  key: string;
  account: string;
  region: string;
}

/** EC2's limit on filter values per DescribeInstances call. */
export const MAX_FILTER_VALUES_PER_CALL = 200;

/**
 * Default `describe_instances_batch_window`, chosen by measurement (BENCHMARKS.md, window
 * sweep): the 1,000-node storm through the plugin took 8–18 EC2/IAM calls at 200 ms (goal
 * ≤ 20) with its lookups spread over up to ~5 s, where 150 ms took up to 19 and 100 ms up to
 * 34. It caps a replica at 5 partial calls/s per account and region, a quarter of EC2's refill.
 */
export const DEFAULT_BATCH_WINDOW_MS = 200;

export type FetchInstances<I> = (
  target: BatchTarget,
  instanceIds: readonly string[],
) => Promise<ReadonlyMap<string, I>>;

/** Timers, injectable so tests can drive the pacing rules without waiting. */
export interface BatcherClock {
  /** Runs `fn` after `delayMs`; 0 means after the current I/O phase. Returns a cancel function. */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const realClock: BatcherClock = {
  schedule(delayMs, fn) {
    if (delayMs <= 0) {
      // setImmediate, not process.nextTick: it runs after every I/O callback of this loop
      // iteration, so requests gRPC delivered together end up in one call.
      const handle = setImmediate(fn);
      return () => clearImmediate(handle);
    }
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
};

interface Waiter<I> {
  resolve(instance: I | undefined): void;
  reject(err: unknown): void;
}

/** Per key: the lookups waiting for the next call, and the one timer that sends it. */
interface KeyState<I> {
  target: BatchTarget;
  waiters: Map<string, Waiter<I>[]>;
  /** Cancels the pending timer: the idle next-tick send, or the end of the current window. */
  cancel: () => void;
}

export interface BatcherOptions<I> {
  /** Minimum interval between partial calls per key; 0 disables batching (one call per lookup). */
  windowMs: number;
  maxIdsPerCall?: number;
  fetch: FetchInstances<I>;
  /** Called with the number of IDs in each call made. */
  onCall?(target: BatchTarget, size: number): void;
  clock?: BatcherClock;
}

export class DescribeInstancesBatcher<I> {
  /**
   * A key has a state while a send is scheduled or its window is open; an idle key has none,
   * so the map stays as small as the set of accounts and regions active in the last window.
   */
  private readonly states = new Map<string, KeyState<I>>();
  private readonly maxIds: number;
  private readonly clock: BatcherClock;

  constructor(private readonly options: BatcherOptions<I>) {
    this.maxIds = Math.max(
      1,
      Math.min(options.maxIdsPerCall ?? MAX_FILTER_VALUES_PER_CALL, MAX_FILTER_VALUES_PER_CALL),
    );
    this.clock = options.clock ?? realClock;
  }

  /**
   * The instance, or undefined when EC2 does not know it (for these credentials). Rejects with
   * `signal.reason` as soon as `signal` aborts.
   */
  lookup(target: BatchTarget, instanceId: string, signal?: AbortSignal): Promise<I | undefined> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<I | undefined>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const done = (): void => {
        if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter<I> = {
        resolve: (instance) => {
          done();
          resolve(instance);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      if (this.options.windowMs <= 0) {
        this.send(target, new Map([[instanceId, [waiter]]]));
      } else {
        this.enqueue(target, instanceId, waiter);
      }
      if (signal !== undefined) {
        onAbort = (): void => {
          this.withdraw(target.key, instanceId, waiter);
          waiter.reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /** Sends every waiting lookup now and forgets the pacing (used on close). */
  flushAll(): void {
    for (const [key, state] of [...this.states]) {
      state.cancel();
      this.states.delete(key);
      if (state.waiters.size > 0) this.send(state.target, state.waiters);
    }
  }

  private enqueue(target: BatchTarget, instanceId: string, waiter: Waiter<I>): void {
    let state = this.states.get(target.key);
    if (state === undefined) {
      // Idle key: send on the next turn of the loop.
      const fresh: KeyState<I> = { target, waiters: new Map(), cancel: () => undefined };
      fresh.cancel = this.clock.schedule(0, () => this.due(target.key));
      this.states.set(target.key, fresh);
      state = fresh;
    }
    const list = state.waiters.get(instanceId);
    if (list === undefined) state.waiters.set(instanceId, [waiter]);
    else list.push(waiter);
    if (state.waiters.size >= this.maxIds) {
      state.cancel();
      this.sendNow(state);
    }
  }

  /** The timer fired: send what is waiting (and open a window), or forget an idle key. */
  private due(key: string): void {
    const state = this.states.get(key);
    if (state === undefined) return;
    if (state.waiters.size === 0) {
      this.states.delete(key);
      return;
    }
    this.sendNow(state);
  }

  /** Sends the waiting lookups and opens a window: the next partial call waits until it ends. */
  private sendNow(state: KeyState<I>): void {
    const waiters = state.waiters;
    state.waiters = new Map();
    state.cancel = this.clock.schedule(this.options.windowMs, () => this.due(state.target.key));
    this.send(state.target, waiters);
  }

  /** An aborted caller whose lookup has not been sent yet leaves the next call. */
  private withdraw(key: string, instanceId: string, waiter: Waiter<I>): void {
    const list = this.states.get(key)?.waiters.get(instanceId);
    if (list === undefined) return;
    const at = list.indexOf(waiter);
    if (at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.states.get(key)?.waiters.delete(instanceId);
  }

  private send(target: BatchTarget, waiters: ReadonlyMap<string, readonly Waiter<I>[]>): void {
    const ids = [...waiters.keys()];
    for (let i = 0; i < ids.length; i += this.maxIds) {
      const chunk = ids.slice(i, i + this.maxIds);
      this.options.onCall?.(target, chunk.length);
      let call: Promise<ReadonlyMap<string, I>>;
      try {
        call = this.options.fetch(target, chunk);
      } catch (err) {
        call = Promise.reject(err);
      }
      call.then(
        (found) => {
          for (const id of chunk) for (const w of waiters.get(id) ?? []) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const id of chunk) for (const w of waiters.get(id) ?? []) w.reject(err);
        },
      );
    }
  }
}
