import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, isPluginError, type PluginError } from "../common/errors";
import type { LogFields, Logger } from "../common/logger";
import type { MetricLabel, Metrics } from "../common/metrics";
import { FakeOrganizations } from "../testkit/aws-fake/organizations";
import { AwsFakeServer } from "../testkit/aws-fake/server";
import { FakeSts } from "../testkit/aws-fake/sts";
import { validateAccountListFile } from "./account-list-file";
import { OrgMembershipCache, type OrgMembershipOptions } from "./org-membership-cache";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MGMT = "999999999999";
const SERVER_ACCOUNT = "111111111111";
const ROLE = "spire-org-reader";
const ROLE_ARN = `arn:aws:iam::${MGMT}:role/${ROLE}`;
const TTL = 180_000;
const base = { accessKeyId: "AKIDSPIRESERVER", secretAccessKey: "server-secret" };
const FOREIGN = "123123123123";

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

describe("OrgMembershipCache, API mode against the loopback Organizations and STS fakes", () => {
  let server: AwsFakeServer;
  let sts: FakeSts;
  let org: FakeOrganizations;
  let now: number;
  let random: number;
  let metrics: RecordingMetrics;
  let logger: RecordingLogger;
  const caches: OrgMembershipCache[] = [];

  const newCache = (
    overrides: Partial<Extract<OrgMembershipOptions, { mode: "api" }>> = {},
  ): OrgMembershipCache => {
    const cache = new OrgMembershipCache({
      mode: "api",
      managementAccountId: MGMT,
      roleName: ROLE,
      region: "us-east-1",
      partition: "aws",
      ttlMs: TTL,
      baseCredentials: base,
      endpoint: server.url,
      stsEndpoint: server.url,
      maxAttempts: 1,
      listPacing: false,
      callTimeoutMs: 5_000,
      now: () => now,
      random: () => random,
      metrics,
      logger,
      ...overrides,
    });
    caches.push(cache);
    return cache;
  };
  const calls = (action: string): number => server.calls.count({ action });

  beforeEach(async () => {
    now = 1_800_000_000_000;
    random = 0.5;
    metrics = new RecordingMetrics();
    logger = new RecordingLogger();
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

  it("answers 10,000 concurrent checks on a cold cache with exactly one full listing", async () => {
    const cache = newCache();
    const verdicts = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => cache.check(i % 10 === 9 ? MGMT : acct(i % 44))),
    );
    expect(verdicts.every((v) => v.member)).toBe(true);
    expect(calls("ListAccounts")).toBe(3); // 45 accounts, pages of 20
    expect(calls("AssumeRole")).toBe(1);
    expect(calls("DescribeAccount")).toBe(0);
    expect(sts.issuedCredentials()[0]?.roleArn).toBe(ROLE_ARN);
    expect(metrics.count("aws_iid.org.refresh,result=ok")).toBe(1);
  });

  it("lets an account added to the organization attest after one DescribeAccount", async () => {
    const cache = newCache();
    await cache.assertMember(acct(0));
    const fresh = "555555555555";
    org.addAccount(fresh);
    await expect(cache.check(fresh)).resolves.toMatchObject({ member: true, via: "describe" });
    await Promise.all(Array.from({ length: 100 }, () => cache.assertMember(fresh)));
    expect(calls("DescribeAccount")).toBe(1);
    expect(calls("ListAccounts")).toBe(3);
  });

  it("makes concurrent misses for one new account share one DescribeAccount and one unit of budget", async () => {
    const cache = newCache();
    await cache.check(acct(0));
    org.addAccount("555555555555");
    const verdicts = await Promise.all(Array.from({ length: 1_000 }, () => cache.check("555555555555")));
    expect(verdicts.every((v) => v.member)).toBe(true);
    expect(calls("DescribeAccount")).toBe(1);
    expect(cache.stats().missBudgetRemaining).toBe(4);
  });

  it("charges a foreign account retried 1,000 times at most one AWS call per TTL, and keeps the budget for new accounts", async () => {
    const cache = newCache();
    await cache.check(acct(0));
    const before = server.calls.records.length;
    for (let i = 0; i < 500; i++) {
      const v = await cache.check(FOREIGN);
      expect(v).toMatchObject({ member: false, reason: "not-in-organization" });
    }
    await Promise.all(Array.from({ length: 500 }, () => cache.check(FOREIGN)));
    expect(server.calls.records.length - before).toBe(1);
    expect(calls("DescribeAccount")).toBe(1);

    // The budget is intact for a legitimate new account.
    org.addAccount("555555555555");
    await expect(cache.check("555555555555")).resolves.toMatchObject({ member: true });
    expect(cache.stats().missBudgetRemaining).toBe(3);

    // Next TTL window: one full listing (the refresh everyone pays) plus one DescribeAccount.
    now += TTL + 1;
    const listBefore = calls("ListAccounts");
    for (let i = 0; i < 1_000; i++) await cache.check(FOREIGN);
    expect(calls("DescribeAccount")).toBe(3);
    expect(calls("ListAccounts") - listBefore).toBe(3);
  });

  it("rejects with a message saying which check failed", async () => {
    org.addAccount(acct(50), "SUSPENDED");
    const cache = newCache();
    const notMember = await rejection(cache.assertMember(FOREIGN));
    expect(notMember.code).toBe(Code.PermissionDenied);
    expect(notMember.message).toContain("not in organization");
    const suspended = await rejection(cache.assertMember(acct(50)));
    expect(suspended.code).toBe(Code.PermissionDenied);
    expect(suspended.message).toContain("not ACTIVE (state: SUSPENDED)");
    expect(calls("DescribeAccount")).toBe(1); // the suspended account was in the listing
  });

  it("rejects an account suspended after the listing, learnt through DescribeAccount", async () => {
    const cache = newCache();
    await cache.check(acct(0));
    org.addAccount("666666666666", "PENDING_CLOSURE");
    await expect(cache.check("666666666666")).resolves.toMatchObject({
      member: false,
      reason: "not-active",
      state: "PENDING_CLOSURE",
    });
  });

  it("reads State, falls back to Status only when State is absent, and lets State win when both exist", async () => {
    org.addAccount(acct(60), "SUSPENDED", "ACTIVE");
    org.addAccount(acct(61), "ACTIVE", "SUSPENDED");

    org.fields = "state"; // today's API: SPIRE's Status filter would reject everyone here
    let cache = newCache();
    expect((await cache.check(acct(0))).member).toBe(true);
    expect(await cache.check(acct(60))).toMatchObject({ member: false, state: "SUSPENDED" });
    cache.close();

    org.fields = "both";
    cache = newCache();
    expect(await cache.check(acct(60))).toMatchObject({ member: false, state: "SUSPENDED" });
    expect((await cache.check(acct(61))).member).toBe(true);
    cache.close();

    org.fields = "status"; // a response without State
    cache = newCache();
    expect((await cache.check(acct(0))).member).toBe(true);
    expect((await cache.check(acct(60))).member).toBe(true);
    expect(await cache.check(acct(61))).toMatchObject({ member: false, state: "SUSPENDED" });
  });

  it("backs off after throttling instead of re-listing on every attestation", async () => {
    const removeFault = server.faults.add(
      { service: "organizations", action: "ListAccounts" },
      { kind: "throttle" },
    );
    const cache = newCache({ backoff: { initialMs: 2_000, maxMs: 60_000 } });
    const first = await rejection(cache.assertMember(acct(0)));
    expect(first.code).toBe(Code.Unavailable);
    expect(first.message).toContain("throttled");
    for (let i = 0; i < 200; i++) await rejection(cache.assertMember(acct(i % 44)));
    expect(calls("ListAccounts")).toBe(1);

    now += 1_500; // random 0.5 → first backoff is 2 s × 0.75
    await rejection(cache.assertMember(acct(0)));
    expect(calls("ListAccounts")).toBe(2);
    now += 2_999; // second backoff is 4 s × 0.75 = 3 s
    await rejection(cache.assertMember(acct(0)));
    expect(calls("ListAccounts")).toBe(2);
    expect(cache.stats().consecutiveFailures).toBe(2);
    expect(metrics.count("aws_iid.org.throttled")).toBe(2);

    removeFault();
    now += 1;
    await cache.assertMember(acct(0));
    expect(cache.stats().consecutiveFailures).toBe(0);
    expect(logger.lines.some((l) => l.level === "warn" && l.fields.kind === "throttled")).toBe(true);
  });

  it("reports a management role the server may not assume as Unavailable, naming the role and the permission", async () => {
    sts.deniedRoles.add(ROLE_ARN);
    const cache = newCache();
    const err = await rejection(cache.assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain(ROLE_ARN);
    expect(err.message).toContain("sts:AssumeRole");
    expect(err.message).not.toContain(base.secretAccessKey);
  });

  it("reports a role without organizations:ListAccounts as Unavailable, naming the permission", async () => {
    org.deny(MGMT, "ListAccounts");
    const err = await rejection(newCache().assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("organizations:ListAccounts");
    expect(err.message).toContain(ROLE_ARN);
  });

  it("names a management account that is not in an organization", async () => {
    const err = await rejection(newCache({ managementAccountId: "777777777777" }).assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("not in an organization");
  });

  it("falls back to SPIRE's re-list on a miss when the role lacks organizations:DescribeAccount", async () => {
    org.deny(MGMT, "DescribeAccount");
    const cache = newCache();
    await cache.check(acct(0));
    org.addAccount("555555555555");
    await expect(cache.check("555555555555")).resolves.toMatchObject({ member: true });
    expect(calls("ListAccounts")).toBe(6);
    await expect(cache.check(FOREIGN)).resolves.toMatchObject({ reason: "not-in-organization" });
    await cache.check(FOREIGN);
    expect(calls("DescribeAccount")).toBe(1); // tried once, then never again
    expect(calls("ListAccounts")).toBe(9);
  });

  it("says when the miss budget is exhausted, and resets it in the next TTL window", async () => {
    const cache = newCache({ missRetries: 2 });
    await cache.check(acct(0));
    await cache.check("200000000001");
    await cache.check("200000000002");
    const exhausted = await cache.check("200000000003");
    expect(exhausted).toMatchObject({ member: false, reason: "miss-budget-exhausted" });
    expect(exhausted.member === false && exhausted.message).toContain("miss budget exhausted");
    expect(calls("DescribeAccount")).toBe(2);
    expect(metrics.count("aws_iid.org.miss_budget_exhausted")).toBe(1);
    expect(logger.lines.filter((l) => l.message.includes("budget exhausted"))).toHaveLength(1);

    now += TTL; // the list refreshes and the window rolls
    await expect(cache.check("200000000003")).resolves.toMatchObject({ reason: "not-in-organization" });
    expect(calls("DescribeAccount")).toBe(3);
  });

  it("fails closed after the TTL when refreshes fail and max_stale is 0", async () => {
    const cache = newCache();
    await cache.assertMember(acct(0));
    server.faults.add({ service: "organizations", action: "ListAccounts" }, { kind: "status", status: 500 });
    now += TTL;
    const err = await rejection(cache.assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
  });

  it("serves the last good list up to max_stale past its TTL while refreshes fail", async () => {
    const maxStale = 600_000;
    const cache = newCache({ maxStaleMs: maxStale, random: () => 0 });
    await cache.assertMember(acct(0));
    server.faults.add({ service: "organizations", action: "ListAccounts" }, { kind: "status", status: 500 });
    now += TTL;
    await expect(cache.check(acct(0))).resolves.toMatchObject({ member: true, via: "stale-list" });
    await expect(cache.check(FOREIGN)).resolves.toMatchObject({ reason: "not-in-organization" });
    now += maxStale - 1;
    await expect(cache.check(acct(1))).resolves.toMatchObject({ member: true, via: "stale-list" });
    expect(metrics.count("aws_iid.org.stale_served")).toBeGreaterThan(0);
    now += 1;
    expect((await rejection(cache.assertMember(acct(0)))).code).toBe(Code.Unavailable);
  });

  it("jitters the expiry within [0.9 × TTL, TTL]", async () => {
    random = 0;
    const a = newCache();
    await a.check(acct(0));
    expect(a.stats().expiresAt! - a.stats().loadedAt!).toBe(TTL);
    random = 0.999_999;
    const b = newCache();
    await b.check(acct(0));
    const ttl = b.stats().expiresAt! - b.stats().loadedAt!;
    expect(ttl).toBeGreaterThanOrEqual(0.9 * TTL);
    expect(ttl).toBeLessThan(0.901 * TTL);
  });

  it("bounds a hanging ListAccounts by the call timeout", async () => {
    server.faults.add({ service: "organizations", action: "ListAccounts", times: 1 }, { kind: "hang" });
    const cache = newCache({ callTimeoutMs: 300 });
    const err = await rejection(cache.assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/did not complete within 300 ms|timed out|aborted/i);
  });

  it("treats a ListAccounts answer without an Accounts list as an AWS fault, not as an empty organization", async () => {
    server.faults.add(
      { service: "organizations", action: "ListAccounts", times: 1 },
      { kind: "body", status: 200, body: "{}" },
    );
    const cache = newCache();
    const err = await rejection(cache.assertMember(acct(0)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/malformed/);
  });

  it("treats a DescribeAccount answer without the account as an AWS fault, not as a non-member", async () => {
    const cache = newCache();
    await cache.assertMember(acct(0));
    server.faults.add(
      { service: "organizations", action: "DescribeAccount", times: 1 },
      { kind: "body", status: 200, body: "{}" },
    );
    const err = await rejection(cache.assertMember("555555555555"));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/malformed/);
  });

  it("reaches the fakes through AWS_ENDPOINT_URL when no endpoint option is given", async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = server.url;
    try {
      const cache = newCache({ endpoint: undefined, stsEndpoint: undefined });
      await cache.assertMember(acct(0));
      expect(calls("ListAccounts")).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});

describe("OrgMembershipCache, file mode", () => {
  let dir: string;
  let now: number;
  const caches: OrgMembershipCache[] = [];
  const fileCache = (path: string, logger?: Logger): OrgMembershipCache => {
    const cache = new OrgMembershipCache({
      mode: "file",
      path,
      ttlMs: TTL,
      now: () => now,
      random: () => 0,
      ...(logger === undefined ? {} : { logger }),
    });
    caches.push(cache);
    return cache;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "org-file-"));
    now = 1_800_000_000_000;
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) c.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("admits listed accounts, re-reads on TTL, and fails closed when the file breaks", async () => {
    const path = join(dir, "accounts.json");
    await writeFile(path, JSON.stringify([acct(0), acct(1)]));
    const cache = fileCache(path);
    await cache.assertMember(acct(0));
    expect(await cache.check(acct(2))).toMatchObject({ reason: "not-in-organization" });

    await writeFile(path, JSON.stringify([acct(2)]));
    expect((await cache.check(acct(0))).member).toBe(true); // still within the TTL
    now += TTL;
    expect((await cache.check(acct(2))).member).toBe(true);
    expect(await cache.check(acct(0))).toMatchObject({ reason: "not-in-organization" });

    await writeFile(path, "[not json");
    now += TTL;
    const err = await rejection(cache.assertMember(acct(2)));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain(`unable to parse account list file "${path}"`);
  });

  it("picks up an account appended to the file on a miss, within the budget", async () => {
    const path = join(dir, "accounts.json");
    await writeFile(path, JSON.stringify([acct(0)]));
    const cache = fileCache(path);
    await cache.assertMember(acct(0));
    await writeFile(path, JSON.stringify([acct(0), acct(1)]));
    expect((await cache.check(acct(1))).member).toBe(true);
  });

  it("rejects everyone with a warning when the file is []", async () => {
    const path = join(dir, "empty.json");
    await writeFile(path, "[]");
    const logger = new RecordingLogger();
    const cache = fileCache(path, logger);
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
