/**
 * The organization cache in two settings:
 * - its rules (pacing, background listing, periods, budgets, serving windows, codes) on a
 *   manual clock with an in-memory source that answers pages and lookups like Organizations,
 *   so minutes of AWS pacing run instantly and nothing asserts on wall time;
 * - the AWS path (the SDK through src/aws to the loopback STS and Organizations fakes): what
 *   AWS's answers and failures turn into.
 * File mode reads real files.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, isPluginError, type PluginError, unavailable } from "../common/errors";
import type { LogFields, Logger } from "../common/logger";
import type { MetricLabel, Metrics } from "../common/metrics";
import type { Fault } from "../testkit/aws-fake/faults";
import { FakeOrganizations } from "../testkit/aws-fake/organizations";
import { AwsFakeServer } from "../testkit/aws-fake/server";
import { FakeSts } from "../testkit/aws-fake/sts";
import { ManualClock, settle } from "../testkit/manual-clock";
import { validateAccountListFile } from "./account-list-file";
import type { AccountPage, AccountSource, DescribedAccount } from "./account-source";
import {
  DESCRIBE_MAX_WAIT_MS,
  NEGATIVE_TTL_WINDOWS,
  OrgMembershipCache,
  type OrgMembershipOptions,
  PERIOD_JITTER,
  RESTARTS_BEFORE_FAILING,
  SHARED_QUOTA,
} from "./org-membership-cache";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MGMT = "999999999999";
const SERVER_ACCOUNT = "111111111111";
const ROLE = "spire-org-reader";
const ROLE_ARN = `arn:aws:iam::${MGMT}:role/${ROLE}`;
const TTL = 180_000;
const base = { accessKeyId: "AKIDSPIRESERVER", secretAccessKey: "server-secret" };
const FOREIGN = "123123123123";
const API_SOURCE = {
  mode: "api",
  managementAccountId: MGMT,
  roleName: ROLE,
  region: "us-east-1",
  partition: "aws",
  credentials: base,
} as const;

/** Account ids 100000000000, 100000000001, … */
const acct = (i: number): string => String(100_000_000_000 + i);

class RecordingMetrics implements Metrics {
  readonly counters = new Map<string, number>();
  incrCounter(key: readonly string[], value = 1, labels: readonly MetricLabel[] = []): void {
    const name = [key.join("."), ...labels.map((l) => `${l.name}=${l.value}`)].join(",");
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }
  setGauge(): void {}
  addSample(): void {}
  measureSince(): void {}
  count(prefix: string): number {
    let n = 0;
    for (const [k, v] of this.counters) if (k.startsWith(prefix)) n += v;
    return n;
  }
}

class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: LogFields }[] = [];
  private log(level: string, message: string, fields: LogFields = {}): void {
    this.lines.push({ level, message, fields });
  }
  trace(m: string, f?: LogFields): void {
    this.log("trace", m, f);
  }
  debug(m: string, f?: LogFields): void {
    this.log("debug", m, f);
  }
  info(m: string, f?: LogFields): void {
    this.log("info", m, f);
  }
  warn(m: string, f?: LogFields): void {
    this.log("warn", m, f);
  }
  error(m: string, f?: LogFields): void {
    this.log("error", m, f);
  }
  with(): Logger {
    return this;
  }
  isEnabled(): boolean {
    return true;
  }
}

async function rejection(p: Promise<unknown>): Promise<PluginError> {
  try {
    await p;
  } catch (err) {
    if (isPluginError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

/** An AWS error as the SDK raises it, wrapped the way src/aws/organizations.ts wraps it. */
function awsFailure(name: string): PluginError {
  const cause = Object.assign(new Error(`${name}: simulated`), { name });
  return unavailable(`AWS ListAccounts failed (${name})`, cause);
}

/**
 * Organizations in memory, on the test's clock: pages of 20 in a fixed order, an account per
 * lookup, every call recorded with its time, and failures on request.
 */
class MemoryOrganization implements AccountSource {
  readonly paced = true;
  readonly description = `role ${ROLE_ARN} (us-east-1)`;
  readonly accounts = new Map<string, string>();
  readonly listCalls: { at: number; token: string | undefined }[] = [];
  readonly describeCalls: { at: number; id: string }[] = [];
  /** Errors the next ListAccounts calls throw, one per call. */
  readonly listFailures: PluginError[] = [];
  describeFailure: PluginError | undefined;

  constructor(
    private readonly clock: ManualClock,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.accounts.set(acct(i), "ACTIVE");
  }

  async listPage(token: string | undefined): Promise<AccountPage> {
    this.listCalls.push({ at: this.clock.now(), token });
    const failure = this.listFailures.shift();
    if (failure !== undefined) throw failure;
    const ids = [...this.accounts.keys()];
    const start = token === undefined ? 0 : Number(token);
    const end = Math.min(start + 20, ids.length);
    return {
      accounts: ids.slice(start, end).map((id) => ({ id, state: this.accounts.get(id)! })),
      nextToken: end < ids.length ? String(end) : undefined,
    };
  }

  async describeAccount(id: string): Promise<DescribedAccount> {
    this.describeCalls.push({ at: this.clock.now(), id });
    if (this.describeFailure !== undefined) throw this.describeFailure;
    const state = this.accounts.get(id);
    return state === undefined ? { found: false } : { found: true, state };
  }

  async close(): Promise<void> {}
}

describe("OrgMembershipCache rules, on a manual clock", () => {
  let clock: ManualClock;
  let metrics: RecordingMetrics;
  let logger: RecordingLogger;
  const caches: OrgMembershipCache[] = [];

  const options = (overrides: Partial<OrgMembershipOptions> = {}): OrgMembershipOptions => ({
    source: { ...API_SOURCE, callTimeoutMs: 20_000 },
    // The schema's defaults (src/server/config.ts).
    ttlMs: TTL,
    missRetries: 5,
    maxStaleMs: 0,
    serverReplicas: 5,
    clock,
    random: () => 0.5,
    metrics,
    logger,
    ...overrides,
  });
  const start = (
    source: MemoryOrganization,
    overrides: Partial<OrgMembershipOptions> = {},
  ): OrgMembershipCache => {
    const cache = new OrgMembershipCache(options(overrides), source);
    caches.push(cache);
    void cache.warm();
    return cache;
  };
  const listed = async (cache: OrgMembershipCache, maxMs = 4 * 3_600_000): Promise<number> =>
    clock.runUntil(() => cache.stats().listedAt !== undefined, maxMs, 1_000);

  beforeEach(() => {
    clock = new ManualClock();
    metrics = new RecordingMetrics();
    logger = new RecordingLogger();
  });
  afterEach(() => {
    for (const c of caches.splice(0)) c.close();
  });

  it("attests a member of a 50,000-account organization on a cold cache at once, with one DescribeAccount", async () => {
    const org = new MemoryOrganization(clock, 50_000);
    const cache = start(org);
    const t0 = clock.now();
    await expect(cache.check(acct(49_000))).resolves.toMatchObject({ member: true, via: "describe" });
    expect(clock.now() - t0).toBe(0);
    expect(org.describeCalls.map((c) => c.id)).toEqual([acct(49_000)]);
    // Answered from the cache from now on, while the listing goes on.
    await cache.check(acct(49_000));
    expect(org.describeCalls).toHaveLength(1);
    expect(cache.stats().listing?.pages).toBeGreaterThan(0);
  });

  it("finishes a 50,000-account listing with the defaults, each replica within its share of ListAccounts", async () => {
    const org = new MemoryOrganization(clock, 50_000);
    const cache = start(org);
    const took = await listed(cache);
    expect(cache.stats().accounts).toBe(50_000);
    expect(org.listCalls).toHaveLength(2_500);
    // 5 replicas: 1.4 pages/s each after one page at once, so 7 req/s for all five and at
    // most 5 + 7·W calls in any W seconds.
    const rate = SHARED_QUOTA.listPerSecond / 5;
    expect(took).toBeGreaterThanOrEqual(((2_500 - 1) / rate) * 1000);
    let maxInOneSecond = 0;
    for (let i = 0, j = 0; i < org.listCalls.length; i++) {
      while (org.listCalls[i]!.at - org.listCalls[j]!.at >= 1000) j++;
      maxInOneSecond = Math.max(maxInOneSecond, i - j + 1);
    }
    expect(maxInOneSecond).toBeLessThanOrEqual(2);
    expect(logger.lines.some((l) => l.message === "Organization listing in progress")).toBe(true);
    expect(metrics.count("aws_iid.org.list_page,result=ok")).toBe(2_500);
  });

  it("keeps five replicas listing together within N + 7·W ListAccounts calls in any W seconds", async () => {
    const orgs = Array.from({ length: 5 }, () => new MemoryOrganization(clock, 2_000));
    const replicas = orgs.map((org) => start(org));
    await clock.runUntil(() => replicas.every((c) => c.stats().listedAt !== undefined), 3_600_000, 1_000);
    const times = orgs.flatMap((o) => o.listCalls.map((c) => c.at)).sort((a, b) => a - b);
    expect(times).toHaveLength(5 * 100);
    /** Most calls within a window of `ms` closed at both ends. */
    const most = (ms: number): number => {
      let max = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i]! - times[j]! > ms) j++;
        max = Math.max(max, i - j + 1);
      }
      return max;
    };
    // 7.5 req/s over 10 s, 12 in a second: under AWS's 8 req/s, burst 12.
    expect(most(10_000)).toBeLessThanOrEqual(5 + SHARED_QUOTA.listPerSecond * 10);
    expect(most(1_000)).toBeLessThanOrEqual(5 + SHARED_QUOTA.listPerSecond);
    expect(SHARED_QUOTA.listPerSecond + 5 / 10).toBeLessThan(8);
  });

  it("retries a failing page with backoff and carries on from it, without starting the listing over", async () => {
    const org = new MemoryOrganization(clock, 100);
    const cache = start(org); // burst 1: one page now, the next after a token
    await clock.advance(0);
    expect(org.listCalls).toHaveLength(1);
    org.listFailures.push(awsFailure("TooManyRequestsException"), awsFailure("TooManyRequestsException"));
    await listed(cache);
    const tokens = org.listCalls.map((c) => c.token);
    expect(tokens.filter((t) => t === undefined)).toHaveLength(1);
    expect(org.listCalls).toHaveLength(5 + 2);
    expect(cache.stats().accounts).toBe(100);
    expect(metrics.count("aws_iid.org.throttled,api=ListAccounts")).toBe(2);
    expect(cache.stats().failingSince).toBeUndefined(); // two failures are not a failing refresh
  });

  it("sets the next listing max(TTL, 2 × the listing's duration) after the last one started, plus jitter", async () => {
    const small = new MemoryOrganization(clock, 100);
    const a = start(small, { random: () => 0 });
    await listed(a);
    expect(a.stats().nextRefreshAt! - small.listCalls[0]!.at).toBe(TTL);

    const big = new MemoryOrganization(clock, 10_000);
    const b = start(big, { random: () => 1 });
    await listed(b);
    const first = big.listCalls[0]!.at;
    const duration = b.stats().listedAt! - first;
    expect(duration).toBeGreaterThan(TTL);
    expect(b.stats().nextRefreshAt! - first).toBe(Math.round(2 * duration * (1 + PERIOD_JITTER)));
    const pages = big.listCalls.length;
    await clock.runUntil(() => big.listCalls.length > pages, 10 * 3_600_000, 10_000);
    expect(big.listCalls[pages]!.at).toBeGreaterThanOrEqual(b.stats().listedAt! - duration + 2 * duration);
  });

  it("answers from the last list while the next listing runs, and takes changes from pages already read", async () => {
    const org = new MemoryOrganization(clock, 2_000);
    const cache = start(org, { serverReplicas: 1 });
    await listed(cache);
    org.accounts.set(acct(3), "SUSPENDED"); // on the first page of the next listing
    await clock.runUntil(
      () => cache.stats().listing !== undefined && cache.stats().listing!.pages > 0,
      TTL * 2,
    );
    expect(cache.stats().listing!.pages).toBeLessThan(100);
    await expect(cache.check(acct(1_999))).resolves.toMatchObject({ member: true, via: "list" });
    await expect(cache.check(acct(3))).resolves.toMatchObject({ member: false, reason: "not-active" });
    expect(org.describeCalls).toHaveLength(0);
  });

  it("keeps using the last list for max_stale once refreshes fail, then looks accounts up one by one", async () => {
    const org = new MemoryOrganization(clock, 100);
    const cache = start(org, { serverReplicas: 1, maxStaleMs: 600_000 });
    await listed(cache);
    for (let i = 0; i < 1_000; i++) org.listFailures.push(awsFailure("ServiceUnavailableException"));
    await clock.runUntil(() => cache.stats().failingSince !== undefined, 2 * TTL, 1_000);
    const failingSince = cache.stats().failingSince!;
    expect(logger.lines.some((l) => l.level === "warn" && l.message.includes("refresh failing"))).toBe(true);
    await clock.advance(failingSince + 600_000 - 1 - clock.now());
    await expect(cache.check(acct(5))).resolves.toMatchObject({ member: true, via: "list" });
    expect(org.describeCalls).toHaveLength(0);
    await clock.advance(1);
    await expect(cache.check(acct(5))).resolves.toMatchObject({ member: true, via: "describe" });
    expect(org.describeCalls).toHaveLength(1);
  });

  it("with max_stale 0 stops using a list older than the TTL at the first failed refresh", async () => {
    const org = new MemoryOrganization(clock, 100);
    const cache = start(org, { serverReplicas: 1 });
    await listed(cache);
    for (let i = 0; i < 1_000; i++) org.listFailures.push(awsFailure("ServiceUnavailableException"));
    await clock.runUntil(() => cache.stats().failingSince !== undefined, 2 * TTL, 1_000);
    await expect(cache.check(acct(5))).resolves.toMatchObject({ member: true, via: "describe" });
    org.describeFailure = awsFailure("ServiceUnavailableException");
    const err = await rejection(cache.assertMember(acct(6)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(
      /^membership of aws account 100000000006 not confirmed: .*ServiceUnavailable.*; retry$/,
    );
  });

  it("refuses with PermissionDenied only what AWS said: not in the organization, or not ACTIVE", async () => {
    const org = new MemoryOrganization(clock, 100);
    org.accounts.set(acct(7), "SUSPENDED");
    const cache = start(org, { serverReplicas: 1 });
    await listed(cache);
    const foreign = await rejection(cache.assertMember(FOREIGN));
    expect(foreign.code).toBe(Code.PermissionDenied);
    expect(foreign.message).toContain(`aws account ${FOREIGN} is not in organization`);
    const suspended = await rejection(cache.assertMember(acct(7)));
    expect(suspended.code).toBe(Code.PermissionDenied);
    expect(suspended.message).toContain("is not ACTIVE (state: SUSPENDED)");
    org.accounts.set("444455556666", "PENDING_CLOSURE"); // joined after the listing
    expect(await cache.check("444455556666")).toMatchObject({ member: false, state: "PENDING_CLOSURE" });
  });

  it("tells unlisted accounts to retry when the budget is spent, and never spends the new-member budget on refused accounts", async () => {
    const org = new MemoryOrganization(clock, 100);
    const cache = start(org, { serverReplicas: 1 });
    await listed(cache);
    const foreigners = Array.from({ length: 5 }, (_, i) => String(200_000_000_000 + i));
    for (const f of foreigners) expect((await cache.check(f)).member).toBe(false);
    // The budget of this window is spent: a new member is told to retry, not refused.
    org.accounts.set("555555555555", "ACTIVE");
    const spent = await rejection(cache.assertMember("555555555555"));
    expect(spent.code).toBe(Code.Unavailable);
    expect(spent.message).toContain("membership of aws account 555555555555 not confirmed yet");
    expect(spent.message).toContain("org_account_miss_retries = 5 per 3m");
    expect(spent.message).toMatch(/retry$/);
    // Next window: the foreigners' refusals are still cached (4 windows), so they cost nothing,
    // and the new member gets its lookup.
    await clock.advance(TTL);
    for (const f of foreigners) for (let i = 0; i < 100; i++) await cache.check(f);
    await expect(cache.check("555555555555")).resolves.toMatchObject({ member: true, via: "describe" });
    expect(org.describeCalls).toHaveLength(6);
    // Once their refusal expires, refused accounts draw from their own budget: 1 per window.
    await clock.advance(NEGATIVE_TTL_WINDOWS * TTL);
    expect((await cache.check(foreigners[0]!)).member).toBe(false);
    const again = await rejection(cache.assertMember(foreigners[1]!));
    expect(again.code).toBe(Code.Unavailable);
    expect(again.message).toContain("accounts refused before");
    org.accounts.set("666666666666", "ACTIVE");
    await expect(cache.check("666666666666")).resolves.toMatchObject({ member: true });
  });

  it("shares one DescribeAccount between concurrent checks of one account", async () => {
    const org = new MemoryOrganization(clock, 100);
    const cache = start(org);
    const verdicts = await Promise.all(Array.from({ length: 1_000 }, () => cache.check(acct(50))));
    expect(verdicts.every((v) => v.member)).toBe(true);
    expect(org.describeCalls).toHaveLength(1);
  });

  it("paces DescribeAccount at this replica's share and tells a lookup that would wait too long to retry", async () => {
    const org = new MemoryOrganization(clock, 10_000);
    const cache = start(org); // 5 replicas: 3 lookups/s, burst 5
    const perSecond = SHARED_QUOTA.describePerSecond / 5;
    const burst = Math.floor(SHARED_QUOTA.describeBurst / 5);
    const waitable = Math.floor((DESCRIBE_MAX_WAIT_MS / 1000) * perSecond);
    const checks = Array.from({ length: burst + waitable + 3 }, (_, i) =>
      cache.check(acct(5_000 + i)).then(
        () => "member",
        (err: PluginError) => err.message,
      ),
    );
    await clock.advance(DESCRIBE_MAX_WAIT_MS);
    const results = await Promise.all(checks);
    expect(results.filter((r) => r === "member")).toHaveLength(burst + waitable);
    const told = results.filter((r) => r !== "member");
    expect(told).toHaveLength(3);
    expect(told[0]).toMatch(
      /not confirmed yet: no account list yet, and this server's DescribeAccount lookups are paced to 3\/s/,
    );
    expect(told[0]).toMatch(/listing of the organization of management account 999999999999 in progress/);
  });

  it("without organizations:DescribeAccount, tells unknown accounts to retry and lists again on a warm miss", async () => {
    const org = new MemoryOrganization(clock, 100);
    org.describeFailure = awsFailure("AccessDeniedException");
    const cache = start(org, { serverReplicas: 1 });
    const cold = await rejection(cache.assertMember(acct(1)));
    expect(cold.code).toBe(Code.Unavailable);
    expect(cold.message).toContain("may not call organizations:DescribeAccount");
    await listed(cache);
    await cache.assertMember(acct(1));
    org.accounts.set("555555555555", "ACTIVE");
    const pages = org.listCalls.length;
    const miss = await rejection(cache.assertMember("555555555555"));
    expect(miss.code).toBe(Code.Unavailable);
    await clock.runUntil(
      () => org.listCalls.length >= pages + 5 && cache.stats().listing === undefined,
      60_000,
    );
    await cache.assertMember("555555555555");
    expect(org.describeCalls).toHaveLength(1); // tried once, then never again
  });

  it("lets the cancelled caller go while the shared lookup finishes for the others", async () => {
    const org = new MemoryOrganization(clock, 10_000);
    const cache = start(org);
    // Spend the burst so the next lookup waits for a token.
    await Promise.all(Array.from({ length: 5 }, (_, i) => cache.check(acct(i + 9_000))));
    const controller = new AbortController();
    const cancelled = cache.check(acct(9_500), controller.signal);
    const patient = cache.check(acct(9_500));
    controller.abort();
    expect((await rejection(cancelled)).message).toContain("cancelled");
    await clock.advance(1_000);
    await expect(patient).resolves.toMatchObject({ member: true });
    await settle();
  });
});

describe("OrgMembershipCache through src/aws, against the loopback Organizations and STS fakes", () => {
  let server: AwsFakeServer;
  let sts: FakeSts;
  let org: FakeOrganizations;
  const caches: OrgMembershipCache[] = [];

  const newCache = (
    api: Partial<Extract<OrgMembershipOptions["source"], { mode: "api" }>> = {},
  ): OrgMembershipCache => {
    const cache = new OrgMembershipCache({
      source: { ...API_SOURCE, callTimeoutMs: 5_000, endpoint: server.url, ...api },
      ttlMs: TTL,
      missRetries: 5,
      maxStaleMs: 0,
      serverReplicas: 1,
    });
    caches.push(cache);
    return cache;
  };
  const calls = (action: string): number => server.calls.count({ action });

  beforeEach(async () => {
    sts = new FakeSts().addStaticCredentials(base.accessKeyId, SERVER_ACCOUNT);
    server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
    org = new FakeOrganizations({ managementAccountId: MGMT, accountOf: (k) => sts.accountOf(k) });
    for (let i = 0; i < 44; i++) org.addAccount(acct(i)); // 45 with the management account: 3 pages
    server.register(sts).register(org);
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) c.close();
    await server.close();
  });

  it("lists the organization through the role, then answers from the list", async () => {
    const cache = newCache();
    await cache.warm();
    expect(calls("ListAccounts")).toBe(3);
    expect(calls("AssumeRole")).toBe(1);
    await expect(cache.check(acct(43))).resolves.toMatchObject({ member: true, via: "list" });
    await expect(cache.check(FOREIGN)).resolves.toMatchObject({
      member: false,
      reason: "not-in-organization",
    });
    expect(calls("DescribeAccount")).toBe(1);
  });

  it("reads State, falls back to Status only when State is absent, and lets State win when both exist", async () => {
    org.addAccount(acct(60), "SUSPENDED", "ACTIVE");
    org.addAccount(acct(61), "ACTIVE", "SUSPENDED");
    for (const [fields, expected] of [
      ["state", { 60: false, 61: true }], // today's API: SPIRE's Status filter would reject everyone here
      ["both", { 60: false, 61: true }],
      ["status", { 60: true, 61: false }], // a response without State
    ] as const) {
      org.fields = fields;
      const cache = newCache();
      await cache.warm();
      expect((await cache.check(acct(60))).member).toBe(expected[60]);
      expect((await cache.check(acct(61))).member).toBe(expected[61]);
      cache.close();
    }
  });

  it("reports a management role the server may not assume as Unavailable, naming the role and the permission", async () => {
    sts.deniedRoles.add(ROLE_ARN);
    const err = await rejection(newCache().assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain(ROLE_ARN);
    expect(err.message).toContain("sts:AssumeRole");
    expect(err.message).not.toContain(base.secretAccessKey);
  });

  it("reports a role without organizations:DescribeAccount nor ListAccounts as Unavailable, naming the permission", async () => {
    org.deny(MGMT, "DescribeAccount");
    org.deny(MGMT, "ListAccounts");
    const err = await rejection(newCache().assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("organizations:DescribeAccount");
  });

  it("names a management account that is not in an organization", async () => {
    const err = await rejection(newCache({ managementAccountId: "777777777777" }).assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("AWSOrganizationsNotInUseException");
  });

  it("answers while a ListAccounts page hangs: the page is bounded by the call timeout and retried", async () => {
    server.faults.add({ service: "organizations", action: "ListAccounts", times: 1 }, { kind: "hang" });
    const cache = newCache({ callTimeoutMs: 300 });
    void cache.warm();
    await expect(cache.check(acct(0))).resolves.toMatchObject({ member: true, via: "describe" });
    await cache.warm();
    expect(calls("ListAccounts")).toBe(4);
  });

  it("treats a ListAccounts answer without an Accounts list as an AWS fault, not as an empty organization", async () => {
    server.faults.add(
      { service: "organizations", action: "ListAccounts", times: 1 },
      { kind: "body", status: 200, body: "{}" },
    );
    const cache = newCache();
    await cache.warm();
    expect(cache.stats().accounts).toBe(45);
    expect(calls("ListAccounts")).toBe(4);
  });

  it("treats a DescribeAccount answer without the account as an AWS fault, not as a non-member", async () => {
    server.faults.add(
      { service: "organizations", action: "DescribeAccount", times: 1 },
      { kind: "body", status: 200, body: "{}" },
    );
    const err = await rejection(newCache().assertMember("555555555555"));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/malformed/);
  });

  // An account DescribeAccount could not answer about is neither a member nor refused: a fault
  // never admits a foreign account, and is not remembered (once AWS answers, its answer decides).
  // Without DescribeAccount permission the account waits for a listing instead.
  it.each<[string, Fault]>([
    ["throttled", { kind: "throttle" }],
    ["a 500", { kind: "error", status: 500, code: "InternalFailure" }],
    ["a bare 503", { kind: "status", status: 503 }],
    ["a reset connection", { kind: "reset" }],
    ["a hung call", { kind: "hang" }],
    ["a body that is not JSON", { kind: "malformed" }],
    ["an answer without the account", { kind: "body", status: 200, body: "{}" }],
    [
      "an answer about another account",
      { kind: "body", status: 200, body: JSON.stringify({ Account: { Id: acct(3), State: "ACTIVE" } }) },
    ],
    ["AccessDenied", { kind: "error", status: 400, code: "AccessDeniedException" }],
  ])("never counts a foreign account as a member when DescribeAccount fails: %s", async (_, fault) => {
    server.faults.add({ service: "organizations", action: "DescribeAccount" }, fault);
    const cache = newCache({ callTimeoutMs: 300 });
    const verdicts = await Promise.allSettled(Array.from({ length: 3 }, () => cache.check(FOREIGN)));
    for (const v of verdicts) {
      expect(v.status).toBe("rejected");
      const err = (v as PromiseRejectedResult).reason as PluginError;
      expect(isPluginError(err) && err.code).toBe(Code.Unavailable);
      expect(err.message).toContain(`membership of aws account ${FOREIGN} not confirmed`);
    }
    expect(calls("DescribeAccount")).toBeGreaterThanOrEqual(1);
    // Still failing: asked again, still not a member.
    await expect(cache.check(FOREIGN)).rejects.toMatchObject({ code: Code.Unavailable });
    if (fault.kind === "error" && fault.code === "AccessDeniedException") return;
    // Once AWS answers, the answer is AWS's: a refusal for the foreign account, a member's admission.
    server.faults.clear();
    await expect(cache.check(FOREIGN)).resolves.toMatchObject({
      member: false,
      reason: "not-in-organization",
    });
    await expect(cache.check(acct(1))).resolves.toMatchObject({ member: true });
  });

  it("reaches the fakes through AWS_ENDPOINT_URL when no endpoint option is given", async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = server.url;
    try {
      const cache = newCache({ endpoint: undefined });
      await cache.warm();
      expect(calls("ListAccounts")).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});

describe("OrgMembershipCache against a loopback Organizations whose NextTokens expire, on a manual clock", () => {
  let clock: ManualClock;
  let server: AwsFakeServer;
  let org: FakeOrganizations;
  let metrics: RecordingMetrics;
  let logger: RecordingLogger;
  const caches: OrgMembershipCache[] = [];

  const start = (tokenMaxAgeMs: number): OrgMembershipCache => {
    org.pageTokenMaxAgeMs = tokenMaxAgeMs;
    const cache = new OrgMembershipCache({
      source: { ...API_SOURCE, callTimeoutMs: 5_000, endpoint: server.url },
      ttlMs: TTL,
      missRetries: 5,
      maxStaleMs: 0,
      serverReplicas: 1,
      clock,
      random: () => 0.5,
      metrics,
      logger,
    });
    caches.push(cache);
    void cache.warm();
    return cache;
  };
  /** Moves the manual clock in small steps, letting the real loopback I/O run in between. */
  const pump = async (done: () => boolean, maxSimulatedMs: number, stepMs = 100): Promise<void> => {
    const end = clock.now() + maxSimulatedMs;
    while (!done() && clock.now() < end) {
      await clock.advance(stepMs);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const listCalls = (outcome?: string): number =>
    server.calls.count({ action: "ListAccounts", ...(outcome === undefined ? {} : { outcome }) });

  beforeEach(async () => {
    clock = new ManualClock();
    metrics = new RecordingMetrics();
    logger = new RecordingLogger();
    const sts = new FakeSts().addStaticCredentials(base.accessKeyId, SERVER_ACCOUNT);
    // AWS's buckets and the token ages both run on the test's clock.
    server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k), now: () => clock.now() });
    org = new FakeOrganizations({
      managementAccountId: MGMT,
      accountOf: (k) => sts.accountOf(k),
      now: () => clock.now(),
    });
    org.addAccountRange(100_000_000_000, 99); // 100 with the management account: 5 pages
    server.register(sts).register(org);
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) c.close();
    await server.close();
  });

  it("starts the listing over from the first page when AWS refuses a NextToken that aged during a page outage", async () => {
    const cache = start(20_000);
    // The first page goes at once (AssumeRole first); the second waits for a token on the
    // manual clock, which does not move here.
    for (let i = 0; i < 2_000 && listCalls() < 1; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    expect(listCalls("ok")).toBe(1);
    // Page 2 is throttled 6 times: the backoff (0.75 + 1.5 + … + 24 s) outlives its token.
    server.faults.add({ service: "organizations", action: "ListAccounts", times: 6 }, { kind: "throttle" });
    await pump(() => cache.stats().listedAt !== undefined, 10 * 60_000);
    expect(cache.stats().accounts).toBe(100);
    expect(listCalls("throttled")).toBe(6);
    expect(listCalls("error")).toBe(1); // the refused token
    expect(listCalls("ok")).toBe(1 + 5); // page 1, then all 5 pages again
    expect(metrics.count("aws_iid.org.listing_restart")).toBe(1);
    const restarted = logger.lines.find((l) => l.message.startsWith("Organization listing restarted"));
    expect(restarted?.level).toBe("warn");
    expect(String(restarted?.fields.error)).toContain("INVALID_PAGINATION_TOKEN");
    expect(restarted?.fields.pages_lost).toBe(1);
    expect(cache.stats().failingSince).toBeUndefined();
    await expect(cache.check(acct(98))).resolves.toMatchObject({ member: true, via: "list" });
  });

  it("bounds restarts when every NextToken is refused: backoff between them, a failing refresh, members still answered", async () => {
    const cache = start(0); // every token is older than 0 ms by the time it comes back
    await pump(() => false, 10 * 60_000, 500);
    expect(cache.stats().listedAt).toBeUndefined();
    const restarts = metrics.count("aws_iid.org.listing_restart");
    // Immediate first restart, then 0.75 s, 1.5 s, … capped at 45 s (60 s jittered by 0.5):
    // about 19 in ten minutes, each costing the first page and the refused second one.
    expect(restarts).toBeGreaterThanOrEqual(RESTARTS_BEFORE_FAILING);
    expect(restarts).toBeLessThanOrEqual(25);
    expect(listCalls("error")).toBe(restarts);
    expect(listCalls()).toBeLessThanOrEqual(2 * restarts + 2);
    expect(cache.stats().failingSince).toBeDefined();
    expect(metrics.count("aws_iid.org.refresh,result=error,kind=page-token")).toBe(1);
    // The first page (read again on every restart) answers its accounts; one beyond it is
    // confirmed by DescribeAccount, as on a cold start.
    await expect(cache.check(acct(5))).resolves.toMatchObject({ member: true, via: "listing" });
    await expect(cache.check(acct(50))).resolves.toMatchObject({ member: true, via: "describe" });
  });
});

describe("OrgMembershipCache, file mode", () => {
  let dir: string;
  let clock: ManualClock;
  const caches: OrgMembershipCache[] = [];
  const fileCache = (path: string, logger?: Logger): OrgMembershipCache => {
    const cache = new OrgMembershipCache({
      source: { mode: "file", path },
      ttlMs: TTL,
      missRetries: 5,
      maxStaleMs: 0,
      serverReplicas: 5,
      clock,
      random: () => 0,
      ...(logger === undefined ? {} : { logger }),
    });
    caches.push(cache);
    return cache;
  };
  /** Lets the file reads (real I/O) of the background loop finish. */
  const reread = async (cache: OrgMembershipCache, after: number): Promise<void> => {
    for (let i = 0; i < 200 && (cache.stats().listedAt ?? 0) <= after; i++) {
      await clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "org-file-"));
    clock = new ManualClock();
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) c.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("admits listed accounts, re-reads when the TTL passed, and stops using the list when the file breaks", async () => {
    const path = join(dir, "accounts.json");
    await writeFile(path, JSON.stringify([acct(0), acct(1)]));
    const cache = fileCache(path);
    await cache.warm();
    await cache.assertMember(acct(0));
    expect(await cache.check(acct(2))).toMatchObject({ reason: "not-in-organization" });

    await writeFile(path, JSON.stringify([acct(3)]));
    expect((await cache.check(acct(0))).member).toBe(true); // still within the TTL
    const first = cache.stats().listedAt!;
    await clock.advance(TTL);
    await reread(cache, first);
    expect((await cache.check(acct(3))).member).toBe(true);
    expect(await cache.check(acct(0))).toMatchObject({ reason: "not-in-organization" });

    await writeFile(path, "[not json");
    const second = cache.stats().listedAt!;
    await clock.advance(TTL);
    for (let i = 0; i < 200 && cache.stats().failingSince === undefined; i++) {
      await clock.advance(10_000);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(cache.stats().listedAt).toBe(second);
    const err = await rejection(cache.assertMember(acct(3)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain(`unable to parse account list file "${path}"`);
  });

  it("picks up an account appended to the file on a miss, within the budget", async () => {
    const path = join(dir, "accounts.json");
    await writeFile(path, JSON.stringify([acct(0)]));
    const cache = fileCache(path);
    await cache.warm();
    await writeFile(path, JSON.stringify([acct(0), acct(1)]));
    expect((await cache.check(acct(1))).member).toBe(true);
  });

  it("rejects everyone with a warning when the file is []", async () => {
    const path = join(dir, "empty.json");
    await writeFile(path, "[]");
    const logger = new RecordingLogger();
    const cache = fileCache(path, logger);
    await cache.warm();
    expect(await cache.check(acct(0))).toMatchObject({ member: false, reason: "not-in-organization" });
    expect(logger.lines.some((l) => l.level === "warn" && l.message.includes("empty"))).toBe(true);
    await expect(validateAccountListFile(path)).resolves.toEqual([]);
  });

  it.each([
    ["missing", undefined, /unable to read account list file: open .*: no such file or directory$/],
    ["not JSON", "{{", /unable to parse account list file ".*", expected a JSON array of account IDs: /],
    [
      "an object",
      '{"a":1}',
      /expected a JSON array of account IDs: json: cannot unmarshal object into Go value of type \[\]string$/,
    ],
    ["a number id", "[123456789012]", /json: cannot unmarshal number into Go value of type string$/],
    [
      "a short id",
      '["12345"]',
      /invalid account id "12345" in account list file ".*", expected a 12-digit AWS account id$/,
    ],
    ["a padded id", '[" 123456789012"]', /invalid account id " 123456789012"/],
  ])("fails Configure on a file that is %s, with SPIRE's message", async (_name, content, pattern) => {
    const path = join(dir, "accounts.json");
    if (content !== undefined) await writeFile(path, content);
    const err = await rejection(validateAccountListFile(path));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message.startsWith('invalid "account_list_file" in the block: "verify_organization": ')).toBe(
      true,
    );
    expect(err.message).toMatch(pattern);
  });
});
