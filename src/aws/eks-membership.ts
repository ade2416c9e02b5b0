/**
 * `validate_eks_cluster_membership`: is the instance in an Auto Scaling group of a node group
 * of one of the configured EKS clusters? The node set of a cluster comes from
 * ListNodegroups → DescribeNodegroup → DescribeAutoScalingGroups.
 *
 * SPIRE caches one node set for 30 s, globally — not keyed by account or region, so a node of
 * account B can be checked against account A's clusters (we read eks.go). Here the cache is
 * keyed by (account, region, cluster), bounded, single flight. A miss refreshes a set that is
 * at least `minRefreshMs` old (a node of a group that just scaled out is not in the set
 * fetched before it launched), so a burst of unknown nodes costs one refresh per cluster per
 * interval, not one per node (SPIRE's 5-refresh budget is global and drains).
 */
import { SingleFlightCache } from "./single-flight-cache";

export type FetchClusterNodes = (
  account: string,
  region: string,
  cluster: string,
) => Promise<ReadonlySet<string>>;

export interface EksMembershipOptions {
  fetch: FetchClusterNodes;
  /** How long a cluster's node set is trusted (aws/index.ts: EKS_NODES_CACHE_TTL_MS). */
  ttlMs: number;
  minRefreshMs?: number;
  maxEntries?: number;
  onCache?(hit: boolean): void;
  now?: () => number;
}

export class EksMembership {
  private readonly cache: SingleFlightCache<ReadonlySet<string>>;
  private readonly minRefreshMs: number;

  constructor(private readonly options: EksMembershipOptions) {
    this.cache = new SingleFlightCache({
      ttlMs: options.ttlMs,
      maxEntries: options.maxEntries ?? 256,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.minRefreshMs = options.minRefreshMs ?? 5_000;
  }

  async isMember(
    account: string,
    region: string,
    instanceId: string,
    clusters: readonly string[],
  ): Promise<boolean> {
    const fresh = new Set<string>();
    for (const cluster of clusters) {
      const key = nodeSetKey(account, region, cluster);
      const { value, hit } = await this.cache.get(key, () => this.options.fetch(account, region, cluster));
      this.options.onCache?.(hit);
      if (!hit) fresh.add(cluster);
      if (value.has(instanceId)) return true;
    }
    const now = this.options.now?.() ?? Date.now();
    for (const cluster of clusters) {
      if (fresh.has(cluster)) continue;
      const key = nodeSetKey(account, region, cluster);
      const entry = this.cache.peek(key);
      if (entry !== undefined && now - entry.storedAt < this.minRefreshMs) continue;
      const { value } = await this.cache.refresh(key, () => this.options.fetch(account, region, cluster));
      if (value.has(instanceId)) return true;
    }
    return false;
  }
}

/** A cluster's name is only unique within its account and region (SPIRE's one global set is not). */
function nodeSetKey(account: string, region: string, cluster: string): string {
  return `${account}|${region}|${cluster}`;
}
