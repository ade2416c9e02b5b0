/**
 * AWS Organization membership for the attest pipeline (`verify_organization`), a cache of
 * the organization's accounts that fixes what we read in SPIRE's organization.go
 * (aws-iid-reference.md §b2, §e):
 *
 * - membership is `State == ACTIVE`; `Status` only when `State` is absent (AWS retired
 *   `Status` on 2026-09-09, and SPIRE's Status-only filter then rejects every account);
 * - one listing in flight however many attestations arrive (single flight);
 * - the TTL is jittered downwards so replicas started together spread their listings over
 *   the window instead of hitting ListAccounts (8 req/s per account) at once (#7079);
 * - a failed refresh backs off exponentially instead of being retried by every attestation,
 *   and, when max_stale > 0, the last good list is served while it is not older than
 *   TTL + max_stale (default 0: fail closed, as SPIRE);
 * - a cache miss costs one DescribeAccount (20 req/s, no paging), not a full re-list; the
 *   miss budget is per TTL window, and a negative answer is cached per account for the TTL,
 *   so one foreign account retried forever cannot drain the budget that a newly created
 *   account of the organization needs (in SPIRE it can);
 * - every rejection says why: not in organization, not ACTIVE, or miss budget exhausted.
 *
 * Rejections are PermissionDenied (terminal for the agent). AWS trouble without a usable
 * list is Unavailable (the agent retries). A management role that cannot be assumed or lacks
 * a permission is also Unavailable: it is the server's misconfiguration, not the node's, and
 * agents must succeed without being redeployed once an operator fixes the role.
 */
import { isPluginError, type PluginError, permissionDenied, unavailable } from "../common/errors";
import { type Logger, silentLogger } from "../common/logger";
import { type Metrics, noopMetrics } from "../common/metrics";
import {
  type AccountSource,
  AccountSourceError,
  type AccountStates,
  type DescribeResult,
  FileAccountSource,
} from "./account-source";
import { OrganizationsAccountSource, type OrganizationsSourceOptions } from "./organizations-source";

export interface OrgMembershipCommonOptions {
  /** org_account_map_ttl (SPIRE: default 3m, minimum 1m). */
  ttlMs: number;
  /** org_account_miss_retries: lookups of unlisted accounts per TTL window (default 5). */
  missRetries?: number;
  /** org_account_map_max_stale: serve the last good list this long past its TTL while refreshes fail (default 0). */
  maxStaleMs?: number;
  /** Fraction of the TTL the expiry is moved earlier by, at random (default 0.1 → [0.9·TTL, TTL]). */
  ttlJitter?: number;
  /** Backoff between failed refreshes (default 2 s doubling up to min(TTL, 60 s)), jittered to [½, 1]. */
  backoff?: { initialMs: number; maxMs: number };
  /** Bound on negatively cached accounts (default 10,000; oldest evicted). */
  negativeCacheMax?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
  /** Uniform [0, 1) (tests inject one). */
  random?: () => number;
}

export interface OrgApiModeOptions extends OrgMembershipCommonOptions {
  mode: "api";
  managementAccountId: string;
  /** assume_org_role: a role *name* in the management account. */
  roleName: string;
  /** management_account_region. */
  region: string;
  /** aws | aws-cn | aws-us-gov, for the role ARN. */
  partition: string;
  /** Bound on one AWS call (default 20 s, SPIRE's awsTimeout since #6558). */
  callTimeoutMs?: number;
  /** Bound on a full listing, all pages (default callTimeoutMs). */
  listTimeoutMs?: number;
  baseCredentials?: OrganizationsSourceOptions["baseCredentials"];
  /** Only for in-process tests; production uses AWS_ENDPOINT_URL_ORGANIZATIONS and friends. */
  endpoint?: string;
  stsEndpoint?: string;
  /** SDK attempts per call (default 3). */
  maxAttempts?: number;
  /** ListAccounts page pacing (default 4 pages/s, burst 6: half the account's 8/s, 12); false = unpaced. */
  listPacing?: { perSecond: number; burst: number } | false;
}

export interface OrgFileModeOptions extends OrgMembershipCommonOptions {
  mode: "file";
  /** account_list_file. */
  path: string;
}

export type OrgMembershipOptions = OrgApiModeOptions | OrgFileModeOptions;

export type NonMemberReason = "not-in-organization" | "not-active" | "miss-budget-exhausted";

export type MembershipVerdict =
  | { member: true; accountId: string; via: "list" | "describe" | "stale-list" }
  | { member: false; accountId: string; reason: NonMemberReason; state?: string; message: string };

export const ORG_DEFAULTS = {
  missRetries: 5,
  maxStaleMs: 0,
  ttlJitter: 0.1,
  callTimeoutMs: 20_000,
  backoffInitialMs: 2_000,
  backoffMaxMs: 60_000,
  negativeCacheMax: 10_000,
  listPacing: { perSecond: 4, burst: 6 },
} as const;

interface CachedList {
  accounts: AccountStates;
  loadedAt: number;
  expiresAt: number;
}

interface RefreshFailure {
  count: number;
  nextAttemptAt: number;
  error: AccountSourceError;
}

const ACTIVE = "ACTIVE";
const ACCOUNT_ID = /^\d{12}$/;
const METRIC = ["aws_iid", "org"] as const;

export class OrgMembershipCache {
  private readonly source: AccountSource;
  private readonly ttlMs: number;
  private readonly missRetries: number;
  private readonly maxStaleMs: number;
  private readonly ttlJitter: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly negativeCacheMax: number;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly scope: string;

  private list: CachedList | undefined;
  private refreshing: Promise<void> | undefined;
  private failure: RefreshFailure | undefined;
  private budgetWindowStart = Number.NEGATIVE_INFINITY;
  private budgetRemaining = 0;
  private budgetWarned = false;
  private readonly negatives = new Map<string, number>();
  private readonly lookups = new Map<string, Promise<MembershipVerdict>>();
  private missRelist: Promise<void> | undefined;
  private relistOnMiss: boolean;
  private closed = false;

  /** `source` replaces the one built from `options` (tests of the cache logic alone). */
  constructor(options: OrgMembershipOptions, source?: AccountSource) {
    if (!(options.ttlMs > 0)) throw new RangeError("ttlMs must be positive");
    this.ttlMs = options.ttlMs;
    this.missRetries = Math.max(0, Math.floor(options.missRetries ?? ORG_DEFAULTS.missRetries));
    this.maxStaleMs = Math.max(0, options.maxStaleMs ?? ORG_DEFAULTS.maxStaleMs);
    this.ttlJitter = Math.min(0.5, Math.max(0, options.ttlJitter ?? ORG_DEFAULTS.ttlJitter));
    this.backoffInitialMs = options.backoff?.initialMs ?? ORG_DEFAULTS.backoffInitialMs;
    this.backoffMaxMs = options.backoff?.maxMs ?? Math.min(this.ttlMs, ORG_DEFAULTS.backoffMaxMs);
    this.negativeCacheMax = options.negativeCacheMax ?? ORG_DEFAULTS.negativeCacheMax;
    this.metrics = options.metrics ?? noopMetrics;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.source = source ?? buildSource(options);
    this.scope =
      options.mode === "api"
        ? `the organization of management account ${options.managementAccountId}`
        : `account list file ${options.path}`;
    this.logger = (options.logger ?? silentLogger).with({ subsystem: "org_membership" });
    this.relistOnMiss = !this.source.canDescribe;
  }

  /**
   * The verdict for one account. Throws PluginError Unavailable when there is no usable list
   * (AWS trouble, misconfigured role, unreadable file) or a miss lookup failed.
   */
  async check(accountId: string, signal?: AbortSignal): Promise<MembershipVerdict> {
    if (this.closed) throw unavailable("organization membership cache is closed");
    if (!ACCOUNT_ID.test(accountId)) return this.notInOrganization(accountId);
    const { list, stale } = await withCallerSignal(this.usableList(), signal);
    const state = list.accounts.get(accountId);
    if (state === ACTIVE) return { member: true, accountId, via: stale ? "stale-list" : "list" };
    if (state !== undefined) return this.notActive(accountId, state);
    return await withCallerSignal(this.miss(accountId, list), signal);
  }

  /** check(), with non-membership turned into PermissionDenied. */
  async assertMember(accountId: string, signal?: AbortSignal): Promise<void> {
    const verdict = await this.check(accountId, signal);
    if (!verdict.member) throw permissionDenied(verdict.message);
  }

  /** Loads the list now (e.g. right after Configure); failures are logged and remembered. */
  async warm(): Promise<void> {
    await this.refresh().catch(() => {});
  }

  /** For operator commands, tests and benchmarks. */
  stats(): {
    accounts: number;
    loadedAt: number | undefined;
    expiresAt: number | undefined;
    missBudgetRemaining: number;
    negativeCached: number;
    consecutiveFailures: number;
  } {
    return {
      accounts: this.list?.accounts.size ?? 0,
      loadedAt: this.list?.loadedAt,
      expiresAt: this.list?.expiresAt,
      missBudgetRemaining: this.budgetRemaining,
      negativeCached: this.negatives.size,
      consecutiveFailures: this.failure?.count ?? 0,
    };
  }

  close(): void {
    this.closed = true;
    this.source.close();
    this.list = undefined;
    this.negatives.clear();
  }

  /** A list to answer from: fresh, or stale within max_stale; otherwise Unavailable. */
  private async usableList(): Promise<{ list: CachedList; stale: boolean }> {
    const now = this.now();
    const list = this.list;
    if (list !== undefined && now < list.expiresAt) return { list, stale: false };

    const staleUsable = list !== undefined && now < list.expiresAt + this.maxStaleMs;
    const backingOff = this.failure !== undefined && now < this.failure.nextAttemptAt;
    if (!backingOff) {
      const refresh = this.refresh();
      if (!staleUsable) {
        try {
          await refresh;
        } catch (err) {
          throw this.unavailableFromSource(err);
        }
        if (this.list === undefined)
          throw unavailable(`organization account list unavailable (${this.scope})`);
        return { list: this.list, stale: false };
      }
      // Stale-while-revalidate: the attestation does not wait for a listing that may take
      // many seconds for a large organization (#6558); errors are handled in refresh().
      refresh.catch(() => {});
    }
    if (staleUsable) {
      this.metrics.incrCounter([...METRIC, "stale_served"], 1, [
        { name: "reason", value: this.failure === undefined ? "refreshing" : "refresh_failed" },
      ]);
      return { list, stale: true };
    }
    throw this.unavailableFromSource(this.failure?.error);
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.runRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async runRefresh(): Promise<void> {
    const started = this.now();
    try {
      const listing = await this.source.listAccounts();
      if (this.closed) return;
      const now = this.now();
      const ttl = this.jitteredTtl();
      this.list = { accounts: listing.accounts, loadedAt: now, expiresAt: now + ttl };
      const recovered = this.failure;
      this.failure = undefined;
      this.resetBudget(now);
      const active = countActive(listing.accounts);
      this.metrics.incrCounter([...METRIC, "refresh"], 1, [{ name: "result", value: "ok" }]);
      this.metrics.setGauge([...METRIC, "accounts"], active);
      this.metrics.addSample([...METRIC, "refresh_pages"], listing.pages);
      this.logger.info("Organization account list refreshed", {
        source: this.source.description,
        accounts: listing.accounts.size,
        active,
        pages: listing.pages,
        duration_ms: now - started,
        next_refresh_in_ms: ttl,
        ...(recovered === undefined ? {} : { after_failures: recovered.count }),
      });
      if (active === 0) {
        this.logger.warn(
          this.source.canDescribe
            ? "Organization has no ACTIVE accounts: every node would be rejected"
            : "Organization account list file is empty: every node will be rejected",
          { source: this.source.description },
        );
      }
    } catch (err) {
      const error = toSourceError(err);
      const count = (this.failure?.count ?? 0) + 1;
      const delay = this.backoffDelay(count);
      this.failure = { count, nextAttemptAt: this.now() + delay, error };
      this.metrics.incrCounter([...METRIC, "refresh"], 1, [
        { name: "result", value: "error" },
        { name: "kind", value: error.kind },
      ]);
      if (error.kind === "throttled") {
        this.metrics.incrCounter([...METRIC, "throttled"], 1, [{ name: "api", value: "ListAccounts" }]);
      }
      const list = this.list;
      this.logger.warn("Organization account list refresh failed", {
        source: this.source.description,
        kind: error.kind,
        error: error.message,
        consecutive_failures: count,
        retry_in_ms: delay,
        serving_stale_until:
          list !== undefined && this.maxStaleMs > 0
            ? new Date(list.expiresAt + this.maxStaleMs).toISOString()
            : "no (fail closed)",
      });
      throw error;
    }
  }

  private async miss(accountId: string, list: CachedList): Promise<MembershipVerdict> {
    const now = this.now();
    const negativeUntil = this.negatives.get(accountId);
    if (negativeUntil !== undefined) {
      if (now < negativeUntil) {
        this.countMiss("negative_cached");
        return this.notInOrganization(accountId);
      }
      this.negatives.delete(accountId);
    }
    // Concurrent misses for one account share one lookup and one unit of budget.
    const pending = this.lookups.get(accountId);
    if (pending !== undefined) return await pending;

    if (now >= this.budgetWindowStart + this.ttlMs) this.resetBudget(now);
    if (this.budgetRemaining <= 0) return this.budgetExhausted(accountId, now);
    this.budgetRemaining -= 1;

    const lookup = this.lookup(accountId, list).finally(() => {
      this.lookups.delete(accountId);
    });
    this.lookups.set(accountId, lookup);
    return await lookup;
  }

  private async lookup(accountId: string, list: CachedList): Promise<MembershipVerdict> {
    if (this.relistOnMiss) return await this.relistForMiss(accountId);
    let result: DescribeResult;
    try {
      result = await this.source.describeAccount(accountId);
    } catch (err) {
      const error = toSourceError(err);
      if (error.kind !== "permission-denied") {
        if (error.kind === "throttled") {
          this.metrics.incrCounter([...METRIC, "throttled"], 1, [{ name: "api", value: "DescribeAccount" }]);
        }
        this.countMiss("error");
        throw unavailable(
          `could not confirm membership of aws account ${accountId} in ${this.scope}: ${error.message}`,
          error,
        );
      }
      // A role set up for SPIRE only grants ListAccounts: fall back to SPIRE's re-list.
      this.relistOnMiss = true;
      this.logger.warn(
        "Organization role lacks organizations:DescribeAccount; cache misses will re-list the organization",
        { source: this.source.description, error: error.message },
      );
      return await this.relistForMiss(accountId);
    }
    return this.verdictFromDescribe(accountId, result, list);
  }

  private verdictFromDescribe(
    accountId: string,
    result: DescribeResult,
    list: CachedList,
  ): MembershipVerdict {
    if (!result.found) {
      this.rememberNegative(accountId);
      this.countMiss("not_found");
      return this.notInOrganization(accountId);
    }
    // The next full listing would show it too; keep it until then.
    list.accounts.set(accountId, result.state);
    if (this.list !== undefined && this.list !== list) this.list.accounts.set(accountId, result.state);
    if (result.state === ACTIVE) {
      this.countMiss("member");
      this.logger.info("Account found by DescribeAccount after a cache miss", { account_id: accountId });
      return { member: true, accountId, via: "describe" };
    }
    this.countMiss("not_active");
    return this.notActive(accountId, result.state);
  }

  /** SPIRE's miss path: list again, replacing the set without moving the expiry. */
  private async relistForMiss(accountId: string): Promise<MembershipVerdict> {
    this.missRelist ??= (async (): Promise<void> => {
      if (this.refreshing !== undefined) {
        await this.refreshing;
        return;
      }
      const listing = await this.source.listAccounts();
      if (this.list !== undefined) this.list.accounts = listing.accounts;
    })().finally(() => {
      this.missRelist = undefined;
    });
    try {
      await this.missRelist;
    } catch (err) {
      const error = toSourceError(err);
      this.countMiss("error");
      throw unavailable(
        `could not confirm membership of aws account ${accountId} in ${this.scope}: ${error.message}`,
        error,
      );
    }
    const state = this.list?.accounts.get(accountId);
    if (state === undefined) {
      this.rememberNegative(accountId);
      this.countMiss("not_found");
      return this.notInOrganization(accountId);
    }
    this.countMiss(state === ACTIVE ? "member" : "not_active");
    return state === ACTIVE ? { member: true, accountId, via: "list" } : this.notActive(accountId, state);
  }

  private budgetExhausted(accountId: string, now: number): MembershipVerdict {
    const resetInMs = Math.max(0, this.budgetWindowStart + this.ttlMs - now);
    this.countMiss("budget_exhausted");
    this.metrics.incrCounter([...METRIC, "miss_budget_exhausted"], 1);
    if (!this.budgetWarned) {
      this.budgetWarned = true;
      this.logger.warn(
        "Organization cache-miss budget exhausted; unlisted accounts are rejected until it resets",
        {
          account_id: accountId,
          budget: this.missRetries,
          window_ms: this.ttlMs,
          resets_in_ms: resetInMs,
        },
      );
    }
    return {
      member: false,
      accountId,
      reason: "miss-budget-exhausted",
      message:
        `aws account ${accountId}: miss budget exhausted (${this.missRetries} lookups of unlisted accounts ` +
        `per ${formatMs(this.ttlMs)} window, next window in ${formatMs(resetInMs)}); the account is not in ` +
        `the cached account list of ${this.scope} and was not looked up`,
    };
  }

  private notInOrganization(accountId: string): MembershipVerdict {
    return {
      member: false,
      accountId,
      reason: "not-in-organization",
      message: `aws account ${accountId} is not in organization: not listed in ${this.scope}`,
    };
  }

  private notActive(accountId: string, state: string): MembershipVerdict {
    return {
      member: false,
      accountId,
      reason: "not-active",
      state,
      message: `aws account ${accountId} is not ACTIVE (state: ${state}) in ${this.scope}`,
    };
  }

  private rememberNegative(accountId: string): void {
    this.negatives.delete(accountId);
    this.negatives.set(accountId, this.now() + this.ttlMs);
    while (this.negatives.size > this.negativeCacheMax) {
      const oldest = this.negatives.keys().next();
      if (oldest.done === true) break;
      this.negatives.delete(oldest.value);
    }
  }

  private resetBudget(now: number): void {
    this.budgetWindowStart = now;
    this.budgetRemaining = this.missRetries;
    this.budgetWarned = false;
  }

  private countMiss(outcome: string): void {
    this.metrics.incrCounter([...METRIC, "miss"], 1, [{ name: "outcome", value: outcome }]);
  }

  private jitteredTtl(): number {
    return Math.round(this.ttlMs * (1 - this.ttlJitter * this.random()));
  }

  private backoffDelay(failures: number): number {
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (0.5 + 0.5 * this.random()));
  }

  private unavailableFromSource(err: unknown): PluginError {
    if (isPluginError(err)) return err;
    const error = err === undefined ? undefined : toSourceError(err);
    const retryIn = this.failure === undefined ? 0 : Math.max(0, this.failure.nextAttemptAt - this.now());
    const detail = error?.message ?? "not loaded";
    const origin = detail.includes(this.source.identity) ? "" : ` (${this.source.description})`;
    return unavailable(
      `organization account list unavailable${origin}: ${detail}; next attempt in ${formatMs(retryIn)}`,
      error,
    );
  }
}

function buildSource(options: OrgMembershipOptions): AccountSource {
  if (options.mode === "file") return new FileAccountSource(options.path);
  const callTimeoutMs = options.callTimeoutMs ?? ORG_DEFAULTS.callTimeoutMs;
  const pacing = options.listPacing === undefined ? ORG_DEFAULTS.listPacing : options.listPacing;
  return new OrganizationsAccountSource({
    managementAccountId: options.managementAccountId,
    roleName: options.roleName,
    partition: options.partition,
    region: options.region,
    callTimeoutMs,
    listTimeoutMs: options.listTimeoutMs ?? callTimeoutMs,
    ...(options.baseCredentials === undefined ? {} : { baseCredentials: options.baseCredentials }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.stsEndpoint === undefined ? {} : { stsEndpoint: options.stsEndpoint }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(pacing === false ? {} : { listPacing: pacing }),
  });
}

function toSourceError(err: unknown): AccountSourceError {
  if (err instanceof AccountSourceError) return err;
  return new AccountSourceError("other", err instanceof Error ? err.message : String(err), { cause: err });
}

function countActive(accounts: AccountStates): number {
  let n = 0;
  for (const state of accounts.values()) if (state === ACTIVE) n++;
  return n;
}

function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Math.ceil(ms / 1000)}s`;
  return `${Math.ceil(ms)}ms`;
}

/** The attestation may be cancelled; the shared refresh it waits on must not be. */
async function withCallerSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await work;
  if (signal.aborted) {
    work.catch(() => {});
    throw unavailable("organization membership check cancelled");
  }
  let cleanup = (): void => {};
  const cancelled = new Promise<never>((_, reject) => {
    const listener = (): void => reject(unavailable("organization membership check cancelled"));
    signal.addEventListener("abort", listener, { once: true });
    cleanup = () => signal.removeEventListener("abort", listener);
  });
  try {
    return await Promise.race([work, cancelled]);
  } finally {
    cleanup();
    work.catch(() => {});
  }
}
