/**
 * Organization membership with the defaults against the loopback Organizations fake with AWS's
 * throttling (ListAccounts 8 req/s burst 12, DescribeAccount 20 req/s burst 30, per account),
 * for organizations of 2,000, 10,000 and 50,000 accounts:
 *
 * 1. Cold cache, real time: one replica configured from scratch; how long until a member (the
 *    last account in the listing order) is attested.
 * 2. One hour of five replicas, on a clock running SPEED times faster than wall time for the
 *    replicas and the fake's token buckets alike (AWS's rates, in the clock's seconds): each
 *    replica checks a member every 2 s (from 500 accounts, cold start included) and a foreign
 *    account every 60 s. Reported: first-listing duration, ListAccounts and DescribeAccount
 *    calls per hour per replica, the most ListAccounts calls the five made in any one second,
 *    throttled calls, and Unavailable answers to members (the goal is 0).
 * 3. The cost of a check on a warm 50,000-account list.
 *
 * The replicas are configured through the aws_iid config parser and src/org's one mapping, so
 * they run the schema's defaults (org_account_map_ttl 3m, org_server_replicas 5, …).
 */
import type { Clock } from "../../src/common/clock";
import { isPluginError } from "../../src/common/errors";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { sleep } from "../../src/common/signals";
import { OrgMembershipCache, orgMembershipOptions } from "../../src/org";
import { parseServerConfig } from "../../src/server/config";
import { FakeOrganizations } from "../../src/testkit/aws-fake/organizations";
import { AwsFakeServer } from "../../src/testkit/aws-fake/server";
import { FakeSts } from "../../src/testkit/aws-fake/sts";

const MGMT = "999999999999";
const BASE = { accessKeyId: "AKIDBENCHSERVER", secretAccessKey: "bench-secret" };
const REPLICAS = 5;
/** Simulated seconds per wall second in the one-hour runs. */
const SPEED = 50;
const HOUR_MS = 3_600_000;
/** The simulation runs one hour, longer (up to two) until every replica finished its first listing. */
const MAX_WINDOW_MS = 2 * HOUR_MS;
const SIZES = [2_000, 10_000, 50_000];

const acct = (i: number): string => String(100_000_000_000 + i);

interface Rig {
  server: AwsFakeServer;
  close(): Promise<void>;
}

async function rig(accounts: number, now?: () => number): Promise<Rig> {
  const sts = new FakeSts().addStaticCredentials(BASE.accessKeyId, "111111111111");
  const server = await AwsFakeServer.start({
    accountOf: (k) => sts.accountOf(k),
    ...(now === undefined ? {} : { now }),
  });
  const org = new FakeOrganizations({ managementAccountId: MGMT, accountOf: (k) => sts.accountOf(k) });
  org.addAccountRange(100_000_000_000, accounts - 1);
  server.register(sts).register(org);
  return { server, close: () => server.close() };
}

/** A replica as the aws_iid plugin builds it: config parser (schema defaults), then src/org's mapping. */
function replica(server: AwsFakeServer, clock?: Clock): OrgMembershipCache {
  const parsed = parseServerConfig(
    `access_key_id = "${BASE.accessKeyId}"\nsecret_access_key = "${BASE.secretAccessKey}"\n` +
      `verify_organization {\n  management_account_id = "${MGMT}"\n  assume_org_role = "spire-org-reader"\n  management_account_region = "us-east-1"\n}`,
    {},
  );
  if (parsed.config === undefined || parsed.config.verifyOrganization === undefined) {
    throw new Error(`bench config: ${JSON.stringify(parsed.problems)}`);
  }
  const c = parsed.config;
  return new OrgMembershipCache(
    orgMembershipOptions(c.verifyOrganization!, {
      partition: c.partition,
      credentials: c.credentials,
      callTimeoutMs: c.awsCallTimeout.ms,
      logger: silentLogger,
      metrics: noopMetrics,
      endpoint: server.url,
      ...(clock === undefined ? {} : { clock }),
    }),
  );
}

async function coldMember(accounts: number): Promise<{ ms: number; via: string; awsCalls: number }> {
  const r = await rig(accounts);
  const cache = replica(r.server);
  try {
    const t0 = performance.now();
    void cache.warm();
    const verdict = await cache.check(acct(accounts - 2));
    const ms = performance.now() - t0;
    if (!verdict.member) throw new Error("cold member refused");
    return { ms: Math.round(ms * 10) / 10, via: verdict.via, awsCalls: r.server.calls.records.length };
  } finally {
    cache.close();
    await r.close();
  }
}

interface HourResult {
  firstListingS: number[];
  firstListingDone: number;
  windowS: number;
  maxListAccountsPerSecondOver10s: number;
  listAccountsPerHourPerReplica: number;
  describeAccountPerHourPerReplica: number;
  maxListAccountsInOneSecond: number;
  throttled: number;
  memberChecks: number;
  memberUnavailable: number;
  memberRefused: number;
  foreignChecks: number;
  foreignRefused: number;
  wallS: number;
}

async function oneHour(accounts: number): Promise<HourResult> {
  const wall0 = performance.now();
  const clock: Clock = {
    now: () => (performance.now() - wall0) * SPEED,
    sleep: (ms, signal) => sleep(ms / SPEED, signal),
  };
  const r = await rig(accounts, clock.now);
  const caches = Array.from({ length: REPLICAS }, () => replica(r.server, clock));
  const firstListing: number[] = [];
  for (const c of caches) {
    void c.warm().then(() => {
      if (c.stats().listedAt !== undefined) firstListing.push(clock.now());
    });
  }
  let memberChecks = 0;
  let memberUnavailable = 0;
  let memberRefused = 0;
  let foreignChecks = 0;
  let foreignRefused = 0;
  const firstUnavailable: string[] = [];
  const load = caches.map(async (cache, n) => {
    for (
      let tick = 0;
      clock.now() < HOUR_MS || (firstListing.length < REPLICAS && clock.now() < MAX_WINDOW_MS);
      tick++
    ) {
      const member = acct(Math.floor(Math.random() * 500) * Math.floor((accounts - 1) / 500));
      memberChecks++;
      cache.check(member).then(
        (v) => {
          if (!v.member) memberRefused++;
        },
        (err: unknown) => {
          memberUnavailable++;
          if (firstUnavailable.length < 3)
            firstUnavailable.push(isPluginError(err) ? err.message : String(err));
        },
      );
      if (tick % 30 === n) {
        foreignChecks++;
        void cache.check(String(200_000_000_000 + (tick % 97))).then(
          (v) => {
            if (!v.member) foreignRefused++;
          },
          () => {},
        );
      }
      await clock.sleep(2_000);
    }
  });
  await Promise.all(load);
  const windowMs = clock.now();
  const list = r.server.calls.records.filter((c) => c.action === "ListAccounts");
  const describe = r.server.calls.records.filter((c) => c.action === "DescribeAccount");
  // ListAccounts calls of all replicas per simulated second, from the fake's log (stamped on
  // the simulated clock when the fake answered, as AWS would count them).
  const perSecond = new Map<number, number>();
  for (const c of list) {
    const second = Math.floor(c.at / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  let max10s = 0;
  const last = Math.max(0, ...perSecond.keys());
  for (let t = 0, sum = 0; t <= last; t++) {
    sum += (perSecond.get(t) ?? 0) - (perSecond.get(t - 10) ?? 0);
    max10s = Math.max(max10s, sum / 10);
  }
  const throttled = r.server.calls.count({ outcome: "throttled" });
  for (const c of caches) c.close();
  await r.close();
  if (firstUnavailable.length > 0) process.stderr.write(`org ${accounts}: ${firstUnavailable.join("\n")}\n`);
  const hours = windowMs / 3_600_000;
  return {
    firstListingS: firstListing.map((t) => Math.round(t / 1000)).sort((a, b) => a - b),
    listAccountsPerHourPerReplica: Math.round(list.length / REPLICAS / hours),
    describeAccountPerHourPerReplica: Math.round(describe.length / REPLICAS / hours),
    maxListAccountsInOneSecond: Math.max(0, ...perSecond.values()),
    maxListAccountsPerSecondOver10s: Math.round(max10s * 10) / 10,
    firstListingDone: firstListing.length,
    windowS: Math.round(windowMs / 1000),
    throttled,
    memberChecks,
    memberUnavailable,
    memberRefused,
    foreignChecks,
    foreignRefused,
    wallS: Math.round((performance.now() - wall0) / 1000),
  };
}

async function warmListCost(): Promise<{ lookupNs: number }> {
  const r = await rig(50_000);
  // The listing on a clock 1,000 times faster (the list's memory and lookup cost, not AWS's
  // pacing); then time slows to real time, so the next refresh is minutes away while lookups run.
  let speed = 1_000;
  let base = 0;
  let wall0 = performance.now();
  const fast: Clock = {
    now: () => base + (performance.now() - wall0) * speed,
    sleep: (ms, s) => sleep(ms / speed, s),
  };
  const cache = replica(r.server, fast);
  await cache.warm();
  base = fast.now();
  wall0 = performance.now();
  speed = 1;
  const lookups = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < lookups; i++) await cache.check(acct(i % 49_999));
  const lookupNs = Math.round(((performance.now() - t0) * 1e6) / lookups);
  cache.close();
  await r.close();
  return { lookupNs };
}

export async function run(): Promise<{ name: string; [k: string]: unknown }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const sizes: Record<string, unknown> = {};
  const metrics: Record<string, number> = {};
  for (const accounts of SIZES) {
    const cold = await coldMember(accounts);
    const hour = await oneHour(accounts);
    sizes[accounts] = { coldMember: cold, hour };
    const k = `${accounts / 1000}k`;
    metrics[`${k}_cold_member_ms`] = cold.ms;
    metrics[`${k}_first_listings_done`] = hour.firstListingDone;
    if (hour.firstListingDone === REPLICAS) metrics[`${k}_first_listing_s`] = Math.max(...hour.firstListingS);
    metrics[`${k}_list_per_h_replica`] = hour.listAccountsPerHourPerReplica;
    metrics[`${k}_describe_per_h_replica`] = hour.describeAccountPerHourPerReplica;
    metrics[`${k}_max_list_per_s_5_replicas_10s`] = hour.maxListAccountsPerSecondOver10s;
    metrics[`${k}_throttled`] = hour.throttled;
    metrics[`${k}_member_unavailable`] = hour.memberUnavailable;
  }
  const warm = await warmListCost();
  metrics.lookup_ns = warm.lookupNs;
  return {
    name: "org",
    description: `${REPLICAS} replicas with the defaults for one simulated hour (clock ×${SPEED}) against the throttling Organizations fake; cold member in real time`,
    metrics,
    sizes,
    warm50000Accounts: warm,
  };
}
