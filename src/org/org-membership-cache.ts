/**
 * AWS Organization membership for both attestation methods (`verify_organization` of aws_iid
 * and aws_iam): the organization's accounts, listed in the background, with one
 * DescribeAccount for an account the list cannot answer. docs/organization.md explains the
 * behaviour and the arithmetic; this comment says how the code is arranged.
 *
 * Listing. A background loop lists the organization page by page, each page paced through a
 * token bucket that is this replica's share of AWS's ListAccounts bucket (8 req/s, burst 12
 * per management account, shared by every replica and every other tool), each page bounded by
 * the call timeout and retried with backoff on its own (a listing has no overall deadline, so
 * 50,000 accounts finish). When AWS refuses the NextToken (it aged during a long page outage),
 * the listing starts over from the first page, with backoff from the second restart on. The
 * next listing starts a refresh period after this one started: the TTL, or twice the last
 * listing's duration when that is longer, plus up to 20 % jitter.
 *
 * Answers. Attestations never wait for a listing. An account is answered from the freshest
 * thing known about it: a DescribeAccount answer, the listing in progress, or the last complete
 * list. Knowledge younger than the TTL is always used; older knowledge is used while refreshes
 * are healthy (the loop will replace it) and for `max_stale` after a refresh started failing.
 * An account found nowhere costs one DescribeAccount from this replica's share of that
 * API's bucket (20 req/s, burst 30): at once on a cold start, and on a warm list from a budget
 * per TTL window (`org_account_miss_retries`, with a smaller separate budget for accounts
 * already refused once, so foreign accounts cannot spend what new members need).
 *
 * Codes. PermissionDenied only when AWS said so (not in the organization, or not ACTIVE).
 * Everything else — budget spent, a lookup that cannot be paced in time, AWS or role trouble —
 * is Unavailable with a message saying which, so agents retry.
 */

import { failureKind } from "../aws/errors";
import {
  createOrganizationsAccess,
  type OrganizationsAccessOptions,
  PageTokenRejected,
} from "../aws/organizations";
import { RequestPacer } from "../aws/request-pacer";
import { type Clock, realClock } from "../common/clock";
import { isPluginError, type PluginError, permissionDenied, unavailable } from "../common/errors";
import { type Logger, silentLogger } from "../common/logger";
import { type Metrics, noopMetrics } from "../common/metrics";
import { raceSignal } from "../common/signals";
import { AccountListFileError } from "./account-list-file";
import {
  type AccountSource,
  type DescribedAccount,
  FileAccountSource,
  OrganizationsAccountSource,
} from "./account-source";

/** API mode: the role in the management account (src/aws/organizations.ts has the fields). */
export type OrgApiSource = { mode: "api" } & Omit<OrganizationsAccessOptions, "logger" | "metrics">;

export interface OrgFileSource {
  mode: "file";
  /** account_list_file. */
  path: string;
}

export interface OrgMembershipOptions {
  source: OrgApiSource | OrgFileSource;
  /** org_account_map_ttl: shortest refresh period, budget window, age always trusted. */
  ttlMs: number;
  /** org_account_miss_retries: lookups of unlisted accounts per TTL window. */
  missRetries: number;
  /** org_account_map_max_stale: how long knowledge older than the TTL is used once refreshes fail. */
  maxStaleMs: number;
  /** org_server_replicas: how many servers share the management account's Organizations quota. */
  serverReplicas: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Tests and benchmarks run on their own clock. */
  clock?: Clock;
  /** Uniform [0, 1) (tests inject one). */
  random?: () => number;
}

export type NonMemberReason = "not-in-organization" | "not-active";

export type MembershipVerdict =
  | { member: true; accountId: string; via: "list" | "listing" | "describe" }
  | { member: false; accountId: string; reason: NonMemberReason; state?: string; message: string };

/**
 * The part of AWS's Organizations buckets the replicas of one SPIRE deployment use together,
 * leaving the rest to other callers of the management account. Each replica paces at its share.
 *
 * ListAccounts (AWS: 8 req/s, burst 12): 7 req/s shared, and a burst of one page per replica (a
 * listing gains nothing from a burst). N replicas listing at once make at most N + 7·W calls in
 * any W seconds: for 5 replicas, 7.5 req/s over any 10 s and 12 in any one second, inside
 * AWS's bucket. (A shared 7.5 req/s with a shared burst of 10 reached 8.5 req/s over 10 s when
 * five replicas started listing together: BENCHMARKS.md, "Organization membership".)
 * DescribeAccount (AWS: 20 req/s, burst 30): 15 req/s and a burst of 25 shared, so a cold
 * start confirms several accounts at once.
 */
export const SHARED_QUOTA = {
  listPerSecond: 7,
  describePerSecond: 15,
  describeBurst: 25,
} as const;

/** The refresh period is at least this multiple of the last listing's duration. */
export const PERIOD_PER_LISTING = 2;
/** Periods are stretched by up to this fraction, at random, so replicas drift apart. */
export const PERIOD_JITTER = 0.2;
/** Consecutive failures of one page after which the refresh counts as failing. */
export const PAGE_ATTEMPTS_BEFORE_FAILING = 4;
/**
 * A listing whose NextToken AWS refused starts over from the first page: at once the first
 * time, after the page backoff from the second restart on, and the refresh counts as failing
 * from this many restarts (a token refused again and again must not keep the last list alive).
 */
export const RESTARTS_BEFORE_FAILING = 3;
/** Backoff between attempts of a page: doubling from the first, capped, jittered to [½, 1]. */
export const PAGE_BACKOFF = { firstMs: 1_000, maxMs: 60_000 } as const;
/** Negative answers are kept this many TTL windows (longer than the budget window). */
export const NEGATIVE_TTL_WINDOWS = 4;
/** How long an attestation may wait for a DescribeAccount token before it is told to retry. */
export const DESCRIBE_MAX_WAIT_MS = 2_000;
/** Pause before the one retry of a DescribeAccount that met a transient fault. */
const DESCRIBE_RETRY_MS = 200;
/** Failures worth one more DescribeAccount attempt (errors.ts's kinds). */
const TRANSIENT = new Set(["throttled", "timeout", "network", "server-error"]);
/** Progress is logged at most this often during a listing. */
const PROGRESS_LOG_MS = 30_000;
const MAX_REMEMBERED = 50_000;

const ACTIVE = "ACTIVE";
/** failureOf's kind for a NextToken AWS refused. */
const PAGE_TOKEN = "page-token";
const ACCOUNT_ID = /^\d{12}$/;
const METRIC = ["aws_iid", "org"] as const;

interface Known {
  state: string;
  /** When AWS gave the answer (for a listing: when the listing started). */
  at: number;
}

interface CompleteList {
  accounts: Map<string, string>;
  startedAt: number;
  completedAt: number;
  pages: number;
}

interface Listing {
  accounts: Map<string, string>;
  startedAt: number;
  pages: number;
  /** Consecutive failures of the current page. */
  failures: number;
  lastError: PluginError | undefined;
  /** Times this refresh started over because AWS refused its NextToken. */
  restarts: number;
}

type LookupKind = "cold" | "unlisted" | "refused";

export class OrgMembershipCache {
  private readonly source: AccountSource;
  private readonly ttlMs: number;
  private readonly missRetries: number;
  private readonly refusedRetries: number;
  private readonly maxStaleMs: number;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly scope: string;
  private readonly listPacer: RequestPacer | undefined;
  private readonly describePacer: RequestPacer | undefined;
  private readonly stop = new AbortController();

  private list: CompleteList | undefined;
  private listing: Listing | undefined;
  /** Set while the current refresh has failed PAGE_ATTEMPTS_BEFORE_FAILING times in a row. */
  private failingSince: number | undefined;
  private nextRefreshAt: number | undefined;
  private wake: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private firstList: Promise<void>;
  private resolveFirstList: () => void = () => {};
  /** DescribeAccount answers (found accounts), newest last. */
  private readonly described = new Map<string, Known>();
  /** "Not in the organization" answers: account → until. */
  private readonly negatives = new Map<string, number>();
  /** Accounts refused at least once, newest last (they draw from the smaller budget). */
  private readonly refused = new Set<string>();
  private readonly lookups = new Map<string, Promise<MembershipVerdict>>();
  private canDescribe = true;
  private budget = { windowStart: Number.NEGATIVE_INFINITY, unlisted: 0, refused: 0, warned: false };
  private lastProgressLog = 0;
  private closed = false;

  constructor(options: OrgMembershipOptions, source?: AccountSource) {
    if (!(options.ttlMs > 0)) throw new RangeError("ttlMs must be positive");
    if (!(options.serverReplicas >= 1)) throw new RangeError("serverReplicas must be at least 1");
    this.ttlMs = options.ttlMs;
    this.missRetries = Math.max(0, Math.floor(options.missRetries));
    this.refusedRetries = Math.ceil(this.missRetries / 5);
    this.maxStaleMs = Math.max(0, options.maxStaleMs);
    this.metrics = options.metrics ?? noopMetrics;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? silentLogger).with({ subsystem: "org_membership" });
    this.source = source ?? buildSource(options);
    const spec = options.source;
    this.scope =
      spec.mode === "api"
        ? `the organization of management account ${spec.managementAccountId}`
        : `account list file ${spec.path}`;
    if (this.source.paced) {
      const n = options.serverReplicas;
      this.listPacer = new RequestPacer(SHARED_QUOTA.listPerSecond / n, 1, this.clock);
      this.describePacer = new RequestPacer(
        SHARED_QUOTA.describePerSecond / n,
        Math.max(1, Math.floor(SHARED_QUOTA.describeBurst / n)),
        this.clock,
      );
    }
    this.firstList = new Promise((resolve) => {
      this.resolveFirstList = resolve;
    });
  }

  /**
   * Starts the background listing (idempotent). Resolves when the first complete list is in,
   * or when the cache is closed; attestations do not wait for it.
   */
  warm(): Promise<void> {
    this.loop ??= this.refreshLoop().catch((err: unknown) => {
      if (!this.closed) this.logger.error("Organization listing loop stopped", { error: String(err) });
    });
    return this.firstList;
  }

  /**
   * The verdict for one account. Throws Unavailable (with the reason) when membership cannot
   * be confirmed either way right now.
   */
  async check(accountId: string, signal?: AbortSignal): Promise<MembershipVerdict> {
    if (this.closed) throw unavailable("organization membership cache is closed");
    void this.warm();
    if (!ACCOUNT_ID.test(accountId)) return this.notInOrganization(accountId, "not an account id");
    const now = this.clock.now();
    const known = this.freshest(accountId, now);
    if (known !== undefined) {
      if (known.state === ACTIVE) return { member: true, accountId, via: known.via };
      return this.notActive(accountId, known.state);
    }
    const negativeUntil = this.negatives.get(accountId);
    if (negativeUntil !== undefined && now < negativeUntil) {
      this.countLookup("negative_cached");
      return this.notInOrganization(accountId, "cached answer");
    }
    // The lookup is shared by every caller asking about the account; one caller giving up
    // (its signal's reason is the PluginError it gets) leaves it running for the others.
    const pending = this.lookups.get(accountId);
    if (pending !== undefined) return await raceSignal(pending, signal);

    const kind = this.lookupKind(accountId, now);
    if (kind !== "cold" && !this.spendBudget(kind, now)) throw this.budgetSpent(accountId, kind, now);
    const lookup = this.lookup(accountId, kind).finally(() => this.lookups.delete(accountId));
    this.lookups.set(accountId, lookup);
    return await raceSignal(lookup, signal);
  }

  /** check(), with non-membership turned into PermissionDenied. */
  async assertMember(accountId: string, signal?: AbortSignal): Promise<void> {
    const verdict = await this.check(accountId, signal);
    if (!verdict.member) throw permissionDenied(verdict.message);
  }

  /** For operator commands, tests and benchmarks. */
  stats(): {
    accounts: number;
    listedAt: number | undefined;
    listing: { pages: number; accounts: number; startedAt: number } | undefined;
    nextRefreshAt: number | undefined;
    failingSince: number | undefined;
    described: number;
    negativeCached: number;
  } {
    const l = this.listing;
    return {
      accounts: this.list?.accounts.size ?? 0,
      listedAt: this.list?.completedAt,
      listing:
        l === undefined ? undefined : { pages: l.pages, accounts: l.accounts.size, startedAt: l.startedAt },
      nextRefreshAt: this.nextRefreshAt,
      failingSince: this.failingSince,
      described: this.described.size,
      negativeCached: this.negatives.size,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(unavailable("organization membership cache is closed"));
    this.resolveFirstList();
    void this.source.close();
    this.list = undefined;
    this.listing = undefined;
    this.described.clear();
    this.negatives.clear();
  }

  // --- answers -----------------------------------------------------------------------------

  /** The newest usable state known for the account, or undefined. */
  private freshest(
    accountId: string,
    now: number,
  ): { state: string; via: "list" | "listing" | "describe" } | undefined {
    let best: { state: string; at: number; via: "list" | "listing" | "describe" } | undefined;
    const consider = (state: string | undefined, at: number, via: "list" | "listing" | "describe"): void => {
      if (state !== undefined && (best === undefined || at > best.at)) best = { state, at, via };
    };
    const list = this.list;
    if (list !== undefined && this.usable(list.completedAt, now)) {
      consider(list.accounts.get(accountId), list.startedAt, "list");
    }
    // The listing in progress is as fresh as anything: every page was read after it started.
    const listing = this.listing;
    if (listing !== undefined) consider(listing.accounts.get(accountId), listing.startedAt, "listing");
    const described = this.described.get(accountId);
    if (described !== undefined && this.usable(described.at, now)) {
      consider(described.state, described.at, "describe");
    }
    return best;
  }

  /**
   * Whether knowledge from `at` may still answer: always within the TTL; afterwards while
   * refreshes are healthy, and for max_stale after they started failing.
   */
  private usable(at: number, now: number): boolean {
    if (now < at + this.ttlMs) return true;
    return this.failingSince === undefined || now < this.failingSince + this.maxStaleMs;
  }

  /** cold: no usable complete list to be absent from; unlisted / refused: a warm miss. */
  private lookupKind(accountId: string, now: number): LookupKind {
    const list = this.list;
    if (list === undefined || !this.usable(list.completedAt, now)) return "cold";
    return this.refused.has(accountId) ? "refused" : "unlisted";
  }

  private spendBudget(kind: "unlisted" | "refused", now: number): boolean {
    const b = this.budget;
    if (now >= b.windowStart + this.ttlMs) {
      this.budget = {
        windowStart: now,
        unlisted: this.missRetries,
        refused: this.refusedRetries,
        warned: false,
      };
    }
    if (this.budget[kind] <= 0) return false;
    this.budget[kind] -= 1;
    return true;
  }

  private async lookup(accountId: string, kind: LookupKind): Promise<MembershipVerdict> {
    if (!this.canDescribe) throw this.waitForListing(accountId, kind);
    if (this.describePacer !== undefined) {
      const ok = await this.describePacer.take(this.stop.signal, DESCRIBE_MAX_WAIT_MS);
      if (!ok) {
        this.countLookup("paced");
        throw unavailable(
          `membership of aws account ${accountId} not confirmed yet: ${this.list === undefined ? "no account list yet" : "not in the last account list"}, and this server's DescribeAccount lookups are paced to ${formatRate(this.describePacer.perSecond)} (${this.listingState()}); retry`,
        );
      }
    }
    let answer: DescribedAccount;
    try {
      answer = await this.describeWithRetry(accountId);
    } catch (err) {
      const failure = failureOf(err);
      if (failure === "access-denied" && this.source.paced) {
        this.canDescribe = false;
        this.logger.warn(
          "Organization role lacks organizations:DescribeAccount; unknown accounts wait for the next listing",
          { source: this.source.description, error: messageOf(err) },
        );
        throw this.waitForListing(accountId, kind);
      }
      if (failure === "throttled") {
        this.metrics.incrCounter([...METRIC, "throttled"], 1, [{ name: "api", value: "DescribeAccount" }]);
      }
      this.countLookup("error");
      throw unavailable(
        `membership of aws account ${accountId} not confirmed: ${messageOf(err)}; retry`,
        isPluginError(err) ? err.cause : err,
      );
    }
    const now = this.clock.now();
    if (!answer.found) {
      this.rememberNegative(accountId, now);
      this.countLookup("not_found");
      return this.notInOrganization(accountId, "DescribeAccount found no such account");
    }
    remember(this.described, accountId, { state: answer.state, at: now });
    this.negatives.delete(accountId);
    if (answer.state !== ACTIVE) {
      this.countLookup("not_active");
      return this.notActive(accountId, answer.state);
    }
    this.countLookup("member");
    this.logger.info("Account confirmed by DescribeAccount", { account_id: accountId, kind });
    return { member: true, accountId, via: "describe" };
  }

  /**
   * One DescribeAccount, and one more attempt (with another token, after a short pause) when the
   * first met a transient fault: a reset keep-alive connection or a throttled call should not
   * cost a node its attestation.
   */
  private async describeWithRetry(accountId: string): Promise<DescribedAccount> {
    try {
      return await this.source.describeAccount(accountId, this.stop.signal);
    } catch (err) {
      if (!TRANSIENT.has(failureOf(err)) || this.closed) throw err;
      await this.clock.sleep(Math.round(DESCRIBE_RETRY_MS * (0.5 + 0.5 * this.random())), this.stop.signal);
      if (
        this.describePacer !== undefined &&
        !(await this.describePacer.take(this.stop.signal, DESCRIBE_MAX_WAIT_MS))
      ) {
        throw err;
      }
      return await this.source.describeAccount(accountId, this.stop.signal);
    }
  }

  /**
   * A role made for SPIRE's built-in plugin grants ListAccounts only: the account waits for a
   * listing, and a warm miss asks for one now (SPIRE re-lists on a miss, within its budget).
   */
  private waitForListing(accountId: string, kind: LookupKind): PluginError {
    if (kind !== "cold") this.refreshNow();
    this.countLookup("no_describe");
    return unavailable(
      `membership of aws account ${accountId} not confirmed yet: the organization role may not call organizations:DescribeAccount, so the account waits for ${this.listingState()}; retry`,
    );
  }

  private budgetSpent(accountId: string, kind: "unlisted" | "refused", now: number): PluginError {
    const resetIn = Math.max(0, this.budget.windowStart + this.ttlMs - now);
    const size = kind === "unlisted" ? this.missRetries : this.refusedRetries;
    this.countLookup("budget_spent");
    this.metrics.incrCounter([...METRIC, "miss_budget_exhausted"], 1, [{ name: "budget", value: kind }]);
    if (!this.budget.warned) {
      this.budget.warned = true;
      this.logger.warn(
        "Organization lookup budget spent; unlisted accounts are told to retry until it resets",
        {
          account_id: accountId,
          budget: kind,
          size,
          window_ms: this.ttlMs,
          resets_in_ms: resetIn,
        },
      );
    }
    const which =
      kind === "unlisted"
        ? `lookup budget for unlisted accounts (org_account_miss_retries = ${size} per ${formatMs(this.ttlMs)})`
        : `lookup budget for accounts refused before (${size} per ${formatMs(this.ttlMs)})`;
    return unavailable(
      `membership of aws account ${accountId} not confirmed yet: it is not in the account list of ${this.scope} and this server's ${which} is spent, next window in ${formatMs(resetIn)}; retry`,
    );
  }

  private notInOrganization(accountId: string, how: string): MembershipVerdict {
    return {
      member: false,
      accountId,
      reason: "not-in-organization",
      message: `aws account ${accountId} is not in organization: not in ${this.scope} (${how})`,
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

  private rememberNegative(accountId: string, now: number): void {
    remember(this.negatives, accountId, now + NEGATIVE_TTL_WINDOWS * this.ttlMs);
    this.refused.delete(accountId);
    this.refused.add(accountId);
    while (this.refused.size > MAX_REMEMBERED) {
      const oldest = this.refused.values().next();
      if (oldest.done === true) break;
      this.refused.delete(oldest.value);
    }
  }

  private listingState(): string {
    const l = this.listing;
    if (l === undefined) return `the next listing of ${this.scope}`;
    const failing =
      l.failures > 0 && l.lastError !== undefined ? `, retrying after: ${l.lastError.message}` : "";
    return `the listing of ${this.scope} in progress (${l.pages} pages, ${l.accounts.size} accounts so far${failing})`;
  }

  // --- listing -----------------------------------------------------------------------------

  private async refreshLoop(): Promise<void> {
    while (!this.closed) {
      const list = await this.listAll();
      if (list === undefined || this.closed) return;
      this.install(list);
      const duration = list.completedAt - list.startedAt;
      const period =
        Math.max(this.ttlMs, PERIOD_PER_LISTING * duration) * (1 + PERIOD_JITTER * this.random());
      this.nextRefreshAt = list.startedAt + Math.round(period);
      this.logger.info("Organization account list refreshed", {
        source: this.source.description,
        accounts: list.accounts.size,
        active: countActive(list.accounts),
        pages: list.pages,
        duration_ms: duration,
        next_refresh_in_ms: Math.max(0, this.nextRefreshAt - list.completedAt),
      });
      await this.sleepUntilRefresh();
    }
  }

  /** Waits for the next refresh, or less when a miss asks for one (refreshNow). */
  private async sleepUntilRefresh(): Promise<void> {
    const wake = new AbortController();
    this.wake = wake;
    const signal = AbortSignal.any([this.stop.signal, wake.signal]);
    try {
      // Sleep again if the clock says it is not time yet (timers may fire early on a clock that changed pace).
      while (!signal.aborted && this.clock.now() < (this.nextRefreshAt ?? 0)) {
        await this.clock.sleep((this.nextRefreshAt ?? 0) - this.clock.now(), signal);
      }
    } catch {
      // woken early or closed: the loop looks at `closed`.
    } finally {
      this.wake = undefined;
    }
  }

  private refreshNow(): void {
    this.wake?.abort();
  }

  /**
   * One complete listing: pages paced, each retried with backoff until it succeeds or the cache
   * closes, and the whole listing started over when AWS refuses its NextToken.
   */
  private async listAll(): Promise<CompleteList | undefined> {
    let listing = this.startListing(0);
    let token: string | undefined;
    try {
      for (;;) {
        if (this.closed) return undefined;
        await this.listPacer?.take(this.stop.signal);
        let page: Awaited<ReturnType<AccountSource["listPage"]>>;
        try {
          page = await this.source.listPage(token, this.stop.signal);
        } catch (err) {
          if (this.closed) return undefined;
          if (token !== undefined && failureOf(err) === PAGE_TOKEN) {
            listing = await this.restartListing(listing, err);
            token = undefined;
          } else {
            await this.pageFailed(listing, err);
          }
          continue;
        }
        if (listing.failures > 0) this.pageRecovered(listing);
        listing.pages += 1;
        for (const a of page.accounts) listing.accounts.set(a.id, a.state);
        this.metrics.incrCounter([...METRIC, "list_page"], 1, [{ name: "result", value: "ok" }]);
        this.metrics.setGauge([...METRIC, "listing_accounts"], listing.accounts.size);
        this.logProgress(listing);
        if (page.nextToken === undefined) break;
        token = page.nextToken;
      }
    } finally {
      if (this.listing === listing) this.listing = undefined;
    }
    return {
      accounts: listing.accounts,
      startedAt: listing.startedAt,
      completedAt: this.clock.now(),
      pages: listing.pages,
    };
  }

  private startListing(restarts: number): Listing {
    const now = this.clock.now();
    const listing: Listing = {
      accounts: new Map(),
      startedAt: now,
      pages: 0,
      failures: 0,
      lastError: undefined,
      restarts,
    };
    this.listing = listing;
    this.lastProgressLog = now;
    return listing;
  }

  /**
   * AWS refused the NextToken (it aged past its lifetime while a page was failing): the pages
   * read so far cannot be completed into a list, so the listing starts over from the first page
   * with fresh knowledge. The first restart is immediate; later ones in the same refresh wait
   * the page backoff, and from RESTARTS_BEFORE_FAILING on the refresh counts as failing.
   */
  private async restartListing(listing: Listing, err: unknown): Promise<Listing> {
    const restarts = listing.restarts + 1;
    const error = isPluginError(err) ? err : unavailable(messageOf(err), err);
    const delay = restarts === 1 ? 0 : backoff(restarts - 1, this.random);
    this.metrics.incrCounter([...METRIC, "list_page"], 1, [
      { name: "result", value: "error" },
      { name: "kind", value: PAGE_TOKEN },
    ]);
    this.metrics.incrCounter([...METRIC, "listing_restart"], 1);
    this.logger.warn("Organization listing restarted from the first page: AWS refused its NextToken", {
      source: this.source.description,
      error: error.message,
      pages_lost: listing.pages,
      restarts,
      restart_in_ms: delay,
    });
    if (restarts === RESTARTS_BEFORE_FAILING) {
      this.failingSince ??= this.clock.now();
      this.metrics.incrCounter([...METRIC, "refresh"], 1, [
        { name: "result", value: "error" },
        { name: "kind", value: PAGE_TOKEN },
      ]);
    }
    if (delay > 0) {
      try {
        await this.clock.sleep(delay, this.stop.signal);
      } catch {
        // closed
      }
    }
    const next = this.startListing(restarts);
    // The first page that succeeds reports the recovery (pageRecovered).
    next.failures = listing.failures + 1;
    next.lastError = error;
    return next;
  }

  private async pageFailed(listing: Listing, err: unknown): Promise<void> {
    const failure = failureOf(err);
    listing.failures += 1;
    listing.lastError = isPluginError(err) ? err : unavailable(messageOf(err), err);
    this.metrics.incrCounter([...METRIC, "list_page"], 1, [
      { name: "result", value: "error" },
      { name: "kind", value: failure },
    ]);
    if (failure === "throttled") {
      this.metrics.incrCounter([...METRIC, "throttled"], 1, [{ name: "api", value: "ListAccounts" }]);
    }
    const delay = backoff(listing.failures, this.random);
    if (listing.failures === PAGE_ATTEMPTS_BEFORE_FAILING) {
      this.failingSince ??= this.clock.now();
      this.metrics.incrCounter([...METRIC, "refresh"], 1, [
        { name: "result", value: "error" },
        { name: "kind", value: failure },
      ]);
      const list = this.list;
      this.logger.warn("Organization account list refresh failing", {
        source: this.source.description,
        kind: failure,
        error: listing.lastError.message,
        page: listing.pages + 1,
        consecutive_failures: listing.failures,
        retry_in_ms: delay,
        serving_last_list_until:
          list === undefined
            ? "no list yet"
            : new Date(
                Math.max(list.completedAt + this.ttlMs, this.failingSince + this.maxStaleMs),
              ).toISOString(),
      });
    } else {
      this.logger.debug("Organization account list page failed, retrying", {
        kind: failure,
        error: listing.lastError.message,
        page: listing.pages + 1,
        attempt: listing.failures,
        retry_in_ms: delay,
      });
    }
    try {
      await this.clock.sleep(delay, this.stop.signal);
    } catch {
      // closed
    }
  }

  private pageRecovered(listing: Listing): void {
    const failures = listing.failures;
    listing.failures = 0;
    listing.lastError = undefined;
    // A refresh that keeps losing its NextToken stays failing until a listing completes.
    if (listing.restarts >= RESTARTS_BEFORE_FAILING) return;
    if (this.failingSince !== undefined) {
      this.logger.info("Organization listing recovered", {
        source: this.source.description,
        after_failures: failures,
        failing_for_ms: this.clock.now() - this.failingSince,
      });
    }
    this.failingSince = undefined;
  }

  private install(list: CompleteList): void {
    this.list = list;
    this.failingSince = undefined;
    this.resolveFirstList();
    // Lookups older than the new list are superseded by it.
    for (const [id, known] of this.described) if (known.at <= list.startedAt) this.described.delete(id);
    for (const [id, until] of this.negatives)
      if (list.accounts.has(id) || until <= list.completedAt) this.negatives.delete(id);
    const active = countActive(list.accounts);
    this.metrics.incrCounter([...METRIC, "refresh"], 1, [{ name: "result", value: "ok" }]);
    this.metrics.setGauge([...METRIC, "accounts"], active);
    this.metrics.addSample([...METRIC, "refresh_pages"], list.pages);
    this.metrics.addSample([...METRIC, "refresh_ms"], list.completedAt - list.startedAt);
    if (active === 0) {
      this.logger.warn(
        this.source.paced
          ? "Organization has no ACTIVE accounts: every node would be rejected"
          : "Organization account list file is empty: every node will be rejected",
        { source: this.source.description },
      );
    }
  }

  private logProgress(listing: Listing): void {
    const now = this.clock.now();
    if (now - this.lastProgressLog < PROGRESS_LOG_MS) return;
    this.lastProgressLog = now;
    const elapsed = now - listing.startedAt;
    this.logger.info("Organization listing in progress", {
      source: this.source.description,
      pages: listing.pages,
      accounts: listing.accounts.size,
      elapsed_ms: elapsed,
      pages_per_second: Math.round((listing.pages / Math.max(1, elapsed)) * 100_000) / 100,
    });
  }

  private countLookup(outcome: string): void {
    this.metrics.incrCounter([...METRIC, "miss"], 1, [{ name: "outcome", value: outcome }]);
  }
}

function buildSource(options: OrgMembershipOptions): AccountSource {
  const spec = options.source;
  if (spec.mode === "file") return new FileAccountSource(spec.path);
  const { mode: _, ...access } = spec;
  return new OrganizationsAccountSource(
    createOrganizationsAccess({
      ...access,
      ...(options.logger === undefined ? {} : { logger: options.logger.with({ subsystem: "aws" }) }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    }),
    spec.region,
  );
}

/** What went wrong, for metrics and logs: errors.ts's kinds, "file" or "page-token". */
function failureOf(err: unknown): string {
  const cause = isPluginError(err) ? err.cause : err;
  if (cause instanceof AccountListFileError) return "file";
  if (cause instanceof PageTokenRejected) return PAGE_TOKEN;
  if (isPluginError(cause)) return "other";
  return failureKind(cause);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function backoff(failures: number, random: () => number): number {
  const base = Math.min(PAGE_BACKOFF.maxMs, PAGE_BACKOFF.firstMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base * (0.5 + 0.5 * random()));
}

/** Map with insertion order as recency, bounded to MAX_REMEMBERED entries. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_REMEMBERED) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
}

function countActive(accounts: Map<string, string>): number {
  let n = 0;
  for (const state of accounts.values()) if (state === ACTIVE) n++;
  return n;
}

function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Math.ceil(ms / 1000)}s`;
  return `${Math.ceil(ms)}ms`;
}

function formatRate(perSecond: number): string {
  return `${Math.round(perSecond * 100) / 100}/s`;
}
