/**
 * A bounded LRU cache with a TTL and single flight: concurrent misses for one key share one
 * load, and failures are never cached (the next caller tries again). Used for instance
 * profiles (SPIRE calls GetInstanceProfile on every attestation) and EKS node sets (SPIRE
 * keeps one global set for every account and region, a bug).
 */
export interface CacheResult<V> {
  value: V;
  /** True when served from a stored entry or an in-flight load started by someone else. */
  hit: boolean;
}

interface Entry<V> {
  value: V;
  storedAt: number;
}

export class SingleFlightCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(private readonly options: { ttlMs: number; maxEntries: number; now?: () => number }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The stored entry if still fresh. */
  peek(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.storedAt >= this.options.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string, load: () => Promise<V>): Promise<CacheResult<V>> {
    const entry = this.peek(key);
    if (entry !== undefined) {
      // Refresh LRU position.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return { value: entry.value, hit: true };
    }
    return this.refresh(key, load);
  }

  /** Loads (or joins the load in flight) regardless of a stored entry. */
  async refresh(key: string, load: () => Promise<V>): Promise<CacheResult<V>> {
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return { value: await pending, hit: true };
    const started = load();
    this.inFlight.set(key, started);
    try {
      const value = await started;
      if (this.options.ttlMs > 0) this.set(key, value);
      return { value, hit: false };
    } finally {
      this.inFlight.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Stores a value learned elsewhere (e.g. a verdict reached after retries). */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.now() });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
