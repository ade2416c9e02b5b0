/**
 * Organization membership benchmark: AWS calls per attestation burst, listing time against
 * the loopback Organizations fake, memory of a 50,000-account set, and lookup cost.
 *
 * The 50,000-account listing runs with the fake's token bucket off: with AWS's bucket
 * (8 req/s, burst 12) 2,500 pages take ≥ (2,500 − 12) / 8 ≈ 311 s whatever the client does,
 * so a measurement would only show the bucket. The 800-account listing (SPIRE #7079's size)
 * runs with the bucket on and the plugin's default pacing, which is the case operators meet.
 */
import { OrgMembershipCache, type OrgMembershipOptions } from "../../src/org";
import { FakeOrganizations } from "../../src/testkit/aws-fake/organizations";
import { AwsFakeServer } from "../../src/testkit/aws-fake/server";
import { FakeSts } from "../../src/testkit/aws-fake/sts";

const MGMT = "999999999999";
const BASE = { accessKeyId: "AKIDBENCHSERVER", secretAccessKey: "bench-secret" };

interface Rig {
  server: AwsFakeServer;
  org: FakeOrganizations;
  cache(overrides?: Partial<Extract<OrgMembershipOptions, { mode: "api" }>>): OrgMembershipCache;
  close(): Promise<void>;
}

async function rig(accounts: number, rateLimited: boolean): Promise<Rig> {
  const sts = new FakeSts().addStaticCredentials(BASE.accessKeyId, "111111111111");
  const server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
  const org = new FakeOrganizations({
    managementAccountId: MGMT,
    accountOf: (k) => sts.accountOf(k),
    rateLimited,
  });
  org.addAccountRange(100_000_000_000, accounts - 1);
  server.register(sts).register(org);
  const caches: OrgMembershipCache[] = [];
  return {
    server,
    org,
    cache: (overrides = {}) => {
      const c = new OrgMembershipCache({
        mode: "api",
        managementAccountId: MGMT,
        roleName: "spire-org-reader",
        region: "us-east-1",
        partition: "aws",
        ttlMs: 180_000,
        baseCredentials: BASE,
        endpoint: server.url,
        stsEndpoint: server.url,
        ...overrides,
      });
      caches.push(c);
      return c;
    },
    close: async () => {
      for (const c of caches) c.close();
      await server.close();
    },
  };
}

const acct = (i: number): string => String(100_000_000_000 + i);

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

export async function run(): Promise<{ name: string; [k: string]: unknown }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

  // 1. Boot storm: 10,000 concurrent attestations on a cold cache, 800-account org, AWS's
  //    token bucket on, default pacing (4 pages/s, burst 6).
  const storm = await rig(800, true);
  let t0 = performance.now();
  const cache = storm.cache();
  const verdicts = await Promise.all(Array.from({ length: 10_000 }, (_, i) => cache.check(acct(i % 799))));
  const burstMs = performance.now() - t0;
  const burst = {
    checks: verdicts.length,
    members: verdicts.filter((v) => v.member).length,
    listAccountsCalls: storm.server.calls.count({ action: "ListAccounts" }),
    throttled: storm.server.calls.count({ outcome: "throttled" }),
    assumeRoleCalls: storm.server.calls.count({ action: "AssumeRole" }),
    describeAccountCalls: storm.server.calls.count({ action: "DescribeAccount" }),
    wallMs: Math.round(burstMs),
  };
  // A foreign account retried 1,000 times on the warm cache.
  const before = storm.server.calls.records.length;
  for (let i = 0; i < 1_000; i++) await cache.check("123123123123");
  const foreignCalls = storm.server.calls.records.length - before;
  await storm.close();

  // 2. 50,000 accounts, token bucket off, pacing off: the client + fake cost of 2,500 pages.
  const big = await rig(50_000, false);
  const heapBefore = heapUsed();
  t0 = performance.now();
  const bigCache = big.cache({ listPacing: false, listTimeoutMs: 600_000 });
  await bigCache.assertMember(acct(0));
  const listMs = performance.now() - t0;
  const heapAfter = heapUsed();
  const pages = big.server.calls.count({ action: "ListAccounts" });

  // 3. Lookup cost on the warm 50,000-account cache.
  const lookups = 200_000;
  t0 = performance.now();
  for (let i = 0; i < lookups; i++) await bigCache.check(acct(i % 49_999));
  const lookupNs = ((performance.now() - t0) * 1e6) / lookups;
  await big.close();

  return {
    name: "org",
    metrics: {
      burst_list_calls: burst.listAccountsCalls,
      burst_throttled: burst.throttled,
      list_50k_ms: Math.round(listMs),
      heap_50k_mb: Math.round(((heapAfter - heapBefore) / 1024 / 1024) * 10) / 10,
      lookup_ns: Math.round(lookupNs),
    },
    burst800Accounts: burst,
    foreignAccountRetried1000: { awsCalls: foreignCalls },
    list50000Accounts: {
      tokenBucket: "off (with AWS's 8 req/s it is ≥ 311 s by arithmetic)",
      pages,
      wallMs: Math.round(listMs),
      pagesPerSecond: Math.round(pages / (listMs / 1000)),
    },
    memory50000Accounts: {
      heapDeltaMB: Math.round(((heapAfter - heapBefore) / 1024 / 1024) * 10) / 10,
      note:
        (globalThis as { gc?: unknown }).gc === undefined ? "no --expose-gc: includes garbage" : "after gc",
    },
    lookup: { checks: lookups, nsPerCheck: Math.round(lookupNs) },
  };
}
