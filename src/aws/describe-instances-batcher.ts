/**
 * DescribeInstances micro-batching (issue 9). When an Auto Scaling group launches 1,000
 * instances, SPIRE makes 1,000 DescribeInstances calls against EC2's per-account-and-region
 * bucket (burst 100, refill 20/s): the storm throttles, agents retry, and the operator's
 * other tools are throttled too. Here lookups for the same (account, region) — hence the same
 * credentials — that arrive within a short window are answered by one call.
 *
 * How the call is made, and why:
 * - The `instance-id` filter, not `InstanceIds`. With InstanceIds one unknown ID fails the
 *   whole call (InvalidInstanceID.NotFound), and a just-launched instance is briefly unknown
 *   because DescribeInstances is eventually consistent; one such instance would fail 999
 *   others or force a split-and-retry. A filter simply omits unknown IDs, so each caller gets
 *   its own answer from one response.
 * - At most 200 IDs per call: EC2 refuses more than 200 filter values per call
 *   (FilterLimitExceeded). A full window is flushed early at 200, and larger backlogs are
 *   split into concurrent calls of 200.
 * - No `instance-state-name` filter (SPIRE's): a stopped or terminated instance comes back,
 *   so we can say "instance i-… is stopped" instead of "not found".
 * - MaxResults 1000 with NextToken pagination: a filtered, paginated call uses EC2's normal
 *   Describe* bucket, never the smaller unfiltered one (50, 10/s).
 *
 * The batcher only groups and fans out; the fetch function does the AWS call, retries and
 * classification. A failed call rejects exactly the lookups it carried.
 */
export interface BatchTarget {
  /** Lookups with the same key share calls: account|region (credentials follow the account). */
  key: string;
  account: string;
  region: string;
}

/** EC2's limit on filter values per DescribeInstances call. */
export const MAX_FILTER_VALUES_PER_CALL = 200;

export type FetchInstances<I> = (
  target: BatchTarget,
  instanceIds: readonly string[],
) => Promise<ReadonlyMap<string, I>>;

interface Waiter<I> {
  resolve(instance: I | undefined): void;
  reject(err: unknown): void;
}

interface PendingBatch<I> {
  target: BatchTarget;
  waiters: Map<string, Waiter<I>[]>;
  timer: NodeJS.Timeout | undefined;
}

export interface BatcherOptions<I> {
  /** Window to collect lookups; 0 disables batching (one call per lookup, SPIRE's pattern). */
  windowMs: number;
  maxIdsPerCall?: number;
  fetch: FetchInstances<I>;
  /** Called with the number of IDs in each call made. */
  onCall?(target: BatchTarget, size: number): void;
}

export class DescribeInstancesBatcher<I> {
  private readonly pending = new Map<string, PendingBatch<I>>();
  private readonly maxIds: number;

  constructor(private readonly options: BatcherOptions<I>) {
    this.maxIds = Math.max(
      1,
      Math.min(options.maxIdsPerCall ?? MAX_FILTER_VALUES_PER_CALL, MAX_FILTER_VALUES_PER_CALL),
    );
  }

  /** The instance, or undefined when EC2 does not know it (for these credentials). */
  lookup(target: BatchTarget, instanceId: string): Promise<I | undefined> {
    if (this.options.windowMs <= 0) {
      return this.call(target, [instanceId]).then((found) => found.get(instanceId));
    }
    return new Promise<I | undefined>((resolve, reject) => {
      let batch = this.pending.get(target.key);
      if (batch === undefined) {
        batch = { target, waiters: new Map(), timer: undefined };
        this.pending.set(target.key, batch);
      }
      const list = batch.waiters.get(instanceId) ?? [];
      list.push({ resolve, reject });
      batch.waiters.set(instanceId, list);
      if (batch.waiters.size >= this.maxIds) {
        this.flush(target.key);
      } else if (batch.timer === undefined) {
        batch.timer = setTimeout(() => this.flush(target.key), this.options.windowMs);
      }
    });
  }

  /** Sends every pending batch now (used on close). */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) this.flush(key);
  }

  private flush(key: string): void {
    const batch = this.pending.get(key);
    if (batch === undefined) return;
    this.pending.delete(key);
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    const ids = [...batch.waiters.keys()];
    for (let i = 0; i < ids.length; i += this.maxIds) {
      const chunk = ids.slice(i, i + this.maxIds);
      this.call(batch.target, chunk).then(
        (found) => {
          for (const id of chunk) for (const w of batch.waiters.get(id) ?? []) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const id of chunk) for (const w of batch.waiters.get(id) ?? []) w.reject(err);
        },
      );
    }
  }

  private call(target: BatchTarget, ids: readonly string[]): Promise<ReadonlyMap<string, I>> {
    this.options.onCall?.(target, ids.length);
    return this.options.fetch(target, ids);
  }
}
