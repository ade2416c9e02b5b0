/**
 * Organization membership with the defaults against the loopback Organizations fake with AWS's
 * throttling (ListAccounts 8 req/s burst 12, DescribeAccount 20 req/s burst 30, per account),
 * for organizations of 2,000, 10,000 and 50,000 accounts:
 *
 * 1. Cold cache, real time: one replica configured from scratch; how long until a member (the
 *    last account in the listing order) is attested.
 * 2. One simulated hour of five replicas on a virtual clock (src/testkit/manual-clock.ts) shared
 *    by the replicas and the fake's token buckets: time moves to the next timer only once no
 *    AWS call is in flight, so every figure is in AWS's seconds and none depends on how busy
 *    the machine is (a call takes no simulated time). Each replica checks a member every 2 s
 *    (from 500 accounts, cold start included) and a foreign account every 60 s. Reported:
 *    first-listing duration, ListAccounts and DescribeAccount calls per hour per replica, the
 *    most ListAccounts calls the five made in any 10 s (and in any 1 s), throttled calls, and
 *    Unavailable answers to members (the goal is 0). The run lasts one hour, longer (up to two)
 *    until every replica finished its first listing.
 * 3. The cost of a check on a warm 50,000-account list.
 *
 * The replicas are configured through the aws_iid config parser and src/org's one mapping, so
 * they run the schema's defaults (org_account_map_ttl 3m, org_server_replicas 5, …), and reach
 * the fake through the AWS SDK (src/aws/organizations.ts).
 */
import { createOrganizationsAccess } from "../../src/aws/organizations";
import type { Clock } from "../../src/common/clock";
import { isPluginError } from "../../src/common/errors";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import {
  type AccountSource,
  OrganizationsAccountSource,
  OrgMembershipCache,
  orgMembershipOptions,
} from "../../src/org";
import type { AccountPage, DescribedAccount } from "../../src/org/account-source";
import { parseServerConfig } from "../../src/server/config";
import { FakeOrganizations } from "../../src/testkit/aws-fake/organizations";
import { AwsFakeServer } from "../../src/testkit/aws-fake/server";
import { FakeSts } from "../../src/testkit/aws-fake/sts";
import { ManualClock } from "../../src/testkit/manual-clock";

const MGMT = "999999999999";
const BASE = { accessKeyId: "AKIDBENCHSERVER", secretAccessKey: "bench-secret" };
const REPLICAS = 5;
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

/**
 * The plugin's Organizations source (the SDK through src/aws), counting its calls in flight so
 * the virtual clock knows when the replicas wait for nothing but time.
 */
class InFlight implements AccountSource {
  static count = 0;
  readonly paced: boolean;
  readonly description: string;
  constructor(private readonly inner: AccountSource) {
    this.paced = inner.paced;
    this.description = inner.description;
  }
  async listPage(token: string | undefined, signal: AbortSignal): Promise<AccountPage> {
    InFlight.count++;
    try {
      return await this.inner.listPage(token, signal);
    } finally {
      InFlight.count--;
    }
  }
  async describeAccount(accountId: string, signal: AbortSignal): Promise<DescribedAccount> {
    InFlight.count++;
    try {
      return await this.inner.describeAccount(accountId, signal);
    } finally {
      InFlight.count--;
    }
  }
  close(): Promise<void> {
    return this.inner.close();
  }
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
  const options = orgMembershipOptions(c.verifyOrganization!, {
    partition: c.partition,
    credentials: c.credentials,
    callTimeoutMs: c.awsCallTimeout.ms,
    logger: silentLogger,
    metrics: noopMetrics,
    endpoint: server.url,
    ...(clock === undefined ? {} : { clock }),
  });
  if (options.source.mode !== "api") throw new Error("bench config: expected API mode");
  const { mode: _, ...access } = options.source;
  const source = new OrganizationsAccountSource(createOrganizationsAccess(access), access.region);
  return new OrgMembershipCache(options, new InFlight(source));
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs the virtual clock until `done()`: waits until no AWS call is in flight and every promise
 * chain has settled, then moves time to the next timer, and again.
 */
async function runVirtual(clock: ManualClock, done: () => boolean): Promise<void> {
  for (;;) {
    do {
      await macrotask();
      while (InFlight.count > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      await macrotask();
    } while (InFlight.count > 0);
    if (done()) return;
    const due = clock.nextDue();
    if (due === undefined) throw new Error("virtual clock: nothing left to wait for");
    await clock.advance(Math.max(0, due - clock.now()));
  }
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
  const clock = new ManualClock(0);
  const r = await rig(accounts, () => clock.now());
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
  let loadDone = false;
  void Promise.all(load).then(() => {
    loadDone = true;
  });
  await runVirtual(clock, () => loadDone);
  const windowMs = clock.now();
  const list = r.server.calls.records.filter((c) => c.action === "ListAccounts");
  const describe = r.server.calls.records.filter((c) => c.action === "DescribeAccount");
  // The most ListAccounts calls of all replicas within any 10 s and any 1 s, from the fake's
  // log (stamped on the virtual clock when the fake answered, as AWS would count them).
  const times = list.map((c) => c.at).sort((a, b) => a - b);
  const maxWithin = (windowMs: number): number => {
    let max = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= windowMs) j++;
      max = Math.max(max, i - j + 1);
    }
    return max;
  };
  const max10s = maxWithin(10_000) / 10;
  const throttled = r.server.calls.count({ outcome: "throttled" });
  for (const c of caches) c.close();
  await r.close();
  if (firstUnavailable.length > 0) process.stderr.write(`org ${accounts}: ${firstUnavailable.join("\n")}\n`);
  const hours = windowMs / 3_600_000;
  return {
    firstListingS: firstListing.map((t) => Math.round(t / 1000)).sort((a, b) => a - b),
    listAccountsPerHourPerReplica: Math.round(list.length / REPLICAS / hours),
    describeAccountPerHourPerReplica: Math.round(describe.length / REPLICAS / hours),
    maxListAccountsInOneSecond: maxWithin(1_000),
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
  // The listing on the virtual clock; the clock then stands still (the next refresh never
  // comes) while lookups run in real time.
  const clock = new ManualClock(0);
  const r = await rig(50_000, () => clock.now());
  const cache = replica(r.server, clock);
  let listed = false;
  void cache.warm().then(() => {
    listed = true;
  });
  await runVirtual(clock, () => listed);
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
    metrics[`${k}_max_list_in_1s_5_replicas`] = hour.maxListAccountsInOneSecond;
    metrics[`${k}_hour_wall_s`] = hour.wallS;
    metrics[`${k}_throttled`] = hour.throttled;
    metrics[`${k}_member_unavailable`] = hour.memberUnavailable;
  }
  const warm = await warmListCost();
  metrics.lookup_ns = warm.lookupNs;
  return {
    name: "org",
    description: `${REPLICAS} replicas with the defaults for one simulated hour (virtual clock: time moves only when no AWS call is in flight) against the throttling Organizations fake; cold member in real time`,
    metrics,
    sizes,
    warm50000Accounts: warm,
  };
}
