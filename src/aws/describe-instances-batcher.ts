/**
 * DescribeInstances budget and batching per (credentials, region) (issues 9, 17, 18). EC2
 * throttles per account and region (Describe* burst 100, refill 20/s), and the account that
 * pays is the one whose credentials sign the call — the server's own account for every node
 * when `assume_role` is unset, whatever account the node's document names. So lookups are
 * keyed by credentials scope and region, never by document account: documents from 32
 * foreign accounts signed by one set of credentials share one budget, not 32.
 *
 * The budget is a token bucket per key: one call per `describe_instances_batch_window`
 * (default 200 ms: 5/s, a quarter of EC2's refill, which the operator's other tools and the
 * other SPIRE replicas share) and a burst of BURST_CALLS. Whatever the traffic, a key makes
 * at most BURST_CALLS + elapsed / window calls (7 in the first second, then 5/s).
 *
 * When a call goes out (per key):
 * - Tokens left: on the next turn of the event loop (setImmediate), so lookups that arrive in
 *   the same I/O phase share the call, but a lone attestation never waits for company that is
 *   not coming — it is as fast as the unbatched path.
 * - No token: the key starts coalescing. Everything that arrives waits for the next call,
 *   sent when a token is due (one window after the previous call); the key keeps coalescing,
 *   one call per window, until a whole window passes with nothing waiting. This is what keeps
 *   a boot storm cheap: 1,000 lookups spread over seconds cost BURST_CALLS + one call per
 *   window, not one per arrival.
 * - 200 IDs waiting (EC2's filter limit) and a token left: sent at once (holding a full call
 *   back saves no call, it only delays answers). Larger backlogs are split into calls of 200,
 *   each paying its token.
 * A window of 0 keeps SPIRE's pattern: one call per lookup, no batching, no budget.
 *
 * How the call is made, and why:
 * - The `instance-id` filter, not `InstanceIds`. With InstanceIds one unknown ID fails the
 *   whole call (InvalidInstanceID.NotFound), and a just-launched instance is briefly unknown
 *   because DescribeInstances is eventually consistent; one such instance would fail 199
 *   others or force a split-and-retry. A filter simply omits unknown IDs, so each caller gets
 *   its own answer from one response. It also lets documents naming different accounts share
 *   a call when the same credentials sign it: each sees only what those credentials see.
 * - At most 200 IDs per call: EC2 refuses more than 200 filter values per call
 *   (FilterLimitExceeded).
 * - No `instance-state-name` filter (SPIRE's): a stopped or terminated instance comes back,
 *   so we can say "instance i-… is stopped" instead of "not found".
 * - MaxResults 1000 with NextToken pagination: a filtered, paginated call uses EC2's normal
 *   Describe* bucket, never the smaller unfiltered one (50, 10/s).
 *
 * The batcher only groups, budgets and fans out; the fetch function does the AWS call,
 * retries and classification. A failed call rejects exactly the lookups it carried. A caller
 * whose signal aborts is answered at once; if its lookup was still waiting, its ID leaves the
 * next call (unless another caller wants the same instance), so a cancelled attestation costs
 * no AWS capacity. A call already sent is never cancelled for one caller: others share it.
 */
export interface BatchTarget {
  /** Lookups with the same key share calls and budget: credentials scope|region. */
  key: string;
  /** An account the credentials of this key act for (which client to use). */
  account: string;
  region: string;
}

/** EC2's limit on filter values per DescribeInstances call. */
export const MAX_FILTER_VALUES_PER_CALL = 200;

/**
 * Calls a key may make back to back before it must coalesce. Small on purpose: each token
 * is a call a storm's first arrivals may spend on one or two IDs; two keep a lone
 * attestation unbatched at a steady rate up to one per window with room for jitter.
 */
export const BURST_CALLS = 2;

/** Token arithmetic is in fractions of a window; this absorbs floating-point dust. */
const EPSILON = 1e-9;

/** Keys are forgotten when idle with a full budget; beyond this many, idle keys are dropped. */
const MAX_KEYS = 4096;

export type FetchInstances<I> = (
  target: BatchTarget,
  instanceIds: readonly string[],
) => Promise<ReadonlyMap<string, I>>;

/** Time and timers, injectable so tests can drive the budget without waiting. */
export interface BatcherClock {
  now(): number;
  /** Runs `fn` after `delayMs`; 0 means after the current I/O phase. Returns a cancel function. */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const realClock: BatcherClock = {
  now: () => performance.now(),
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

/** Per key: the budget, the lookups waiting for the next call, and the one timer. */
interface KeyState<I> {
  target: BatchTarget;
  tokens: number;
  /** When `tokens` was last brought up to date. */
  stamp: number;
  waiters: Map<string, Waiter<I>[]>;
  /** Out of tokens recently: arrivals wait for the next paced call. */
  coalescing: boolean;
  /** Cancels the pending timer, if any. */
  cancel: (() => void) | undefined;
  /** When that timer fires. */
  dueAt: number;
}

export interface BatcherOptions<I> {
  /** Refill interval of the budget per key; 0 disables batching (one call per lookup). */
  windowMs: number;
  burst?: number;
  maxIdsPerCall?: number;
  fetch: FetchInstances<I>;
  /** Called with the number of IDs in each call made. */
  onCall?(target: BatchTarget, size: number): void;
  clock?: BatcherClock;
}

export class DescribeInstancesBatcher<I> {
  private readonly states = new Map<string, KeyState<I>>();
  private readonly maxIds: number;
  private readonly burst: number;
  private readonly clock: BatcherClock;

  constructor(private readonly options: BatcherOptions<I>) {
    this.maxIds = Math.max(
      1,
      Math.min(options.maxIdsPerCall ?? MAX_FILTER_VALUES_PER_CALL, MAX_FILTER_VALUES_PER_CALL),
    );
    this.burst = Math.max(1, options.burst ?? BURST_CALLS);
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

  /** Sends every waiting lookup now, budget or not, and forgets every key (used on close). */
  flushAll(): void {
    for (const [key, state] of [...this.states]) {
      state.cancel?.();
      this.states.delete(key);
      if (state.waiters.size > 0) this.send(state.target, state.waiters);
    }
  }

  private enqueue(target: BatchTarget, instanceId: string, waiter: Waiter<I>): void {
    const state = this.stateFor(target);
    const list = state.waiters.get(instanceId);
    if (list === undefined) state.waiters.set(instanceId, [waiter]);
    else list.push(waiter);
    if (state.waiters.size >= this.maxIds && this.refill(state) >= 1 - EPSILON) {
      this.sendChunks(state);
    }
    if (state.waiters.size > 0) {
      // With tokens left: next turn. Coalescing: when the next token is due. (A timer set
      // only to forget the key when its budget is full may be later than that.)
      const delay = state.coalescing ? this.untilToken(state) : 0;
      if (state.cancel === undefined || state.dueAt > this.clock.now() + delay) this.arm(state, delay);
    }
  }

  private stateFor(target: BatchTarget): KeyState<I> {
    let state = this.states.get(target.key);
    if (state === undefined) {
      if (this.states.size >= MAX_KEYS) this.dropIdleKeys();
      state = {
        target,
        tokens: this.burst,
        stamp: this.clock.now(),
        waiters: new Map(),
        coalescing: false,
        cancel: undefined,
        dueAt: 0,
      };
      this.states.set(target.key, state);
    }
    return state;
  }

  /** Brings the budget up to date and returns the tokens available. */
  private refill(state: KeyState<I>): number {
    const now = this.clock.now();
    state.tokens = Math.min(this.burst, state.tokens + (now - state.stamp) / this.options.windowMs);
    state.stamp = now;
    return state.tokens;
  }

  private untilToken(state: KeyState<I>): number {
    const tokens = this.refill(state);
    return tokens >= 1 - EPSILON ? 0 : Math.ceil((1 - tokens) * this.options.windowMs - EPSILON);
  }

  private arm(state: KeyState<I>, delayMs: number): void {
    state.cancel?.();
    state.dueAt = this.clock.now() + delayMs;
    state.cancel = this.clock.schedule(delayMs, () => {
      state.cancel = undefined;
      this.due(state);
    });
  }

  /** The timer fired: send what is waiting and the budget allows, or wind the key down. */
  private due(state: KeyState<I>): void {
    if (this.states.get(state.target.key) !== state) return;
    if (state.waiters.size === 0) {
      // A whole window (or turn) with nothing waiting: the storm, if any, is over.
      state.coalescing = false;
      if (this.refill(state) >= this.burst - EPSILON) this.states.delete(state.target.key);
      else this.arm(state, this.untilFull(state));
      return;
    }
    if (this.refill(state) >= 1 - EPSILON) this.sendChunks(state);
    if (state.waiters.size > 0 || state.tokens < 1 - EPSILON) {
      // Out of budget (or a call just spent the last token): coalesce until a window passes
      // with nothing waiting.
      state.coalescing = true;
    }
    this.arm(state, state.coalescing ? Math.max(this.untilToken(state), 1) : this.untilFull(state));
  }

  private untilFull(state: KeyState<I>): number {
    return Math.max(1, Math.ceil((this.burst - this.refill(state)) * this.options.windowMs - EPSILON));
  }

  /** Sends waiting lookups in calls of up to 200 IDs, one token each, while tokens last. */
  private sendChunks(state: KeyState<I>): void {
    while (state.waiters.size > 0 && state.tokens >= 1 - EPSILON) {
      state.tokens = Math.max(0, state.tokens - 1);
      const chunk = new Map<string, Waiter<I>[]>();
      for (const [id, list] of state.waiters) {
        if (chunk.size >= this.maxIds) break;
        chunk.set(id, list);
      }
      for (const id of chunk.keys()) state.waiters.delete(id);
      this.send(state.target, chunk);
    }
  }

  private dropIdleKeys(): void {
    for (const [key, state] of this.states) {
      if (state.waiters.size === 0) {
        state.cancel?.();
        this.states.delete(key);
      }
    }
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
