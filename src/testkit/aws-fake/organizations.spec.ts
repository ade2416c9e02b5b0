import {
  DescribeAccountCommand,
  ListAccountsCommand,
  OrganizationsClient,
  paginateListAccounts,
} from "@aws-sdk/client-organizations";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOrganizations } from "./organizations";
import { AwsFakeServer } from "./server";
import { FakeSts } from "./sts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MGMT = "999999999999";
const mgmtKeys = { accessKeyId: "AKIDMGMT", secretAccessKey: "x" };
const memberKeys = { accessKeyId: "AKIDMEMBER", secretAccessKey: "x" };
const outsiderKeys = { accessKeyId: "AKIDOUTSIDER", secretAccessKey: "x" };

describe("FakeOrganizations with the real SDK", () => {
  let server: AwsFakeServer;
  let org: FakeOrganizations;
  const clients: OrganizationsClient[] = [];
  const client = (credentials: typeof mgmtKeys): OrganizationsClient => {
    const c = new OrganizationsClient({
      region: "us-east-1",
      endpoint: server.url,
      credentials,
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    const sts = new FakeSts()
      .addStaticCredentials(mgmtKeys.accessKeyId, MGMT)
      .addStaticCredentials(memberKeys.accessKeyId, "100000000000")
      .addStaticCredentials(outsiderKeys.accessKeyId, "888888888888");
    server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
    org = new FakeOrganizations({ managementAccountId: MGMT, accountOf: (k) => sts.accountOf(k) });
    server.register(sts).register(org);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.close();
  });

  it("pages 50,000 accounts by 20 with NextToken", async () => {
    // Without the token bucket: 2,500 pages would take 5 minutes at AWS's 8 req/s.
    const unlimited = new FakeOrganizations({
      managementAccountId: MGMT,
      accountOf: () => MGMT,
      rateLimited: false,
    });
    unlimited.addAccountRange(100_000_000_000, 49_999);
    server.register(unlimited);
    let pages = 0;
    const ids = new Set<string>();
    for await (const page of paginateListAccounts({ client: client(mgmtKeys) }, {})) {
      pages++;
      expect(page.Accounts!.length).toBeLessThanOrEqual(20);
      for (const a of page.Accounts ?? []) ids.add(a.Id!);
    }
    expect(pages).toBe(2_500);
    expect(ids.size).toBe(50_000);
  });

  it("refuses MaxResults above 20", async () => {
    await expect(client(mgmtKeys).send(new ListAccountsCommand({ MaxResults: 21 }))).rejects.toMatchObject({
      name: "InvalidInputException",
    });
  });

  it("refuses a NextToken older than pageTokenMaxAgeMs with InvalidInputException, reason INVALID_PAGINATION_TOKEN", async () => {
    let now = 0;
    const aging = new FakeOrganizations({
      managementAccountId: MGMT,
      accountOf: () => MGMT,
      pageTokenMaxAgeMs: 60_000,
      now: () => now,
    });
    aging.addAccountRange(100_000_000_000, 59);
    server.register(aging);
    const c = client(mgmtKeys);
    const first = await c.send(new ListAccountsCommand({}));
    now = 60_000;
    const second = await c.send(new ListAccountsCommand({ NextToken: first.NextToken! }));
    expect(second.Accounts![0]!.Id).toBe("100000000019");
    now = 120_001;
    await expect(c.send(new ListAccountsCommand({ NextToken: second.NextToken! }))).rejects.toMatchObject({
      name: "InvalidInputException",
      Reason: "INVALID_PAGINATION_TOKEN",
    });
    await expect(c.send(new ListAccountsCommand({ NextToken: "not-a-token" }))).rejects.toMatchObject({
      name: "InvalidInputException",
    });
  });

  it("returns State, and the legacy Status only when asked to", async () => {
    org.addAccount("100000000000", "SUSPENDED");
    let out = await client(mgmtKeys).send(new DescribeAccountCommand({ AccountId: "100000000000" }));
    expect(out.Account).toMatchObject({ Id: "100000000000", State: "SUSPENDED" });
    expect(out.Account?.Status).toBeUndefined();
    org.fields = "status";
    out = await client(mgmtKeys).send(new DescribeAccountCommand({ AccountId: "100000000000" }));
    expect(out.Account?.State).toBeUndefined();
    expect(out.Account?.Status).toBe("SUSPENDED");
  });

  it("answers the errors the SDK models", async () => {
    org.addAccount("100000000000");
    await expect(
      client(mgmtKeys).send(new DescribeAccountCommand({ AccountId: "123123123123" })),
    ).rejects.toMatchObject({ name: "AccountNotFoundException" });
    await expect(client(memberKeys).send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    await expect(client(outsiderKeys).send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: "AWSOrganizationsNotInUseException",
    });
  });

  it("throttles ListAccounts like AWS: a burst of 12 per account", async () => {
    const c = client(mgmtKeys);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => c.send(new ListAccountsCommand({}))),
    );
    const throttled = results.filter((r) => r.status === "rejected");
    // 12 burst, plus whatever refilled (8/s) while the requests were in flight.
    expect(results.length - throttled.length).toBeGreaterThanOrEqual(12);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]).toMatchObject({ reason: { name: "TooManyRequestsException" } });
  });

  it("keeps one bucket per API and account, whatever the region, refilled on the server's clock", async () => {
    let now = 0;
    const sts = new FakeSts().addStaticCredentials(mgmtKeys.accessKeyId, MGMT);
    const timed = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k), now: () => now });
    const timedOrg = new FakeOrganizations({ managementAccountId: MGMT, accountOf: (k) => sts.accountOf(k) });
    timed.register(sts).register(timedOrg);
    const inRegion = (region: string): OrganizationsClient => {
      const c = new OrganizationsClient({
        region,
        endpoint: timed.url,
        credentials: mgmtKeys,
        maxAttempts: 1,
      });
      clients.push(c);
      return c;
    };
    const outcomes = async (c: OrganizationsClient, n: number, describe = false): Promise<number> => {
      const results = await Promise.allSettled(
        Array.from({ length: n }, () =>
          describe
            ? c.send(new DescribeAccountCommand({ AccountId: MGMT }))
            : c.send(new ListAccountsCommand({})),
        ),
      );
      return results.filter((r) => r.status === "fulfilled").length;
    };
    try {
      const east = inRegion("us-east-1");
      const west = inRegion("us-west-2");
      expect(await outcomes(east, 8)).toBe(8);
      expect(await outcomes(west, 8)).toBe(4); // the same 12, from another region
      expect(await outcomes(east, 40, true)).toBe(30); // DescribeAccount: its own bucket
      now += 1_000;
      expect(await outcomes(west, 10)).toBe(8);
    } finally {
      await timed.close();
    }
  });
});
