/** Every request a fake receives, so tests and benchmarks can count AWS calls by API. */
export interface CallRecord {
  service: string;
  action: string;
  region: string;
  accessKeyId: string;
  status: number;
  /** "ok", "throttled", "error", or the fault kind that was injected. */
  outcome: string;
  /** When the fake answered, on the server's clock (AwsFakeServerOptions.now). */
  at: number;
}

export class CallLog {
  readonly records: CallRecord[] = [];
  private readonly limit: number;

  constructor(limit = 1_000_000) {
    this.limit = limit;
  }

  add(record: CallRecord): void {
    if (this.records.length >= this.limit) this.records.shift();
    this.records.push(record);
  }

  count(filter: Partial<Pick<CallRecord, "service" | "action" | "outcome" | "region">> = {}): number {
    let n = 0;
    for (const r of this.records) {
      if (filter.service !== undefined && r.service !== filter.service) continue;
      if (filter.action !== undefined && r.action !== filter.action) continue;
      if (filter.outcome !== undefined && r.outcome !== filter.outcome) continue;
      if (filter.region !== undefined && r.region !== filter.region) continue;
      n += 1;
    }
    return n;
  }

  /** Counts keyed "service:Action" → { total, ok, throttled, error }. */
  summary(): Record<string, { total: number; ok: number; throttled: number; other: number }> {
    const out: Record<string, { total: number; ok: number; throttled: number; other: number }> = {};
    for (const r of this.records) {
      const key = `${r.service}:${r.action}`;
      const entry = out[key] ?? { total: 0, ok: 0, throttled: 0, other: 0 };
      entry.total += 1;
      if (r.outcome === "ok") entry.ok += 1;
      else if (r.outcome === "throttled" || r.outcome === "throttle") entry.throttled += 1;
      else entry.other += 1;
      out[key] = entry;
    }
    return out;
  }

  reset(): void {
    this.records.length = 0;
  }
}
