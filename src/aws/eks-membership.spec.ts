import { describe, expect, it } from "vitest";
import { EksMembership } from "./eks-membership";

const REGION = "us-east-1";

/** Node sets per "account|region|cluster", and every fetch made. */
function world(sets: Record<string, string[]>) {
  const fetches: string[] = [];
  let now = 0;
  const eks = new EksMembership({
    fetch: async (account, region, cluster) => {
      const key = `${account}|${region}|${cluster}`;
      fetches.push(key);
      return new Set(sets[key] ?? []);
    },
    ttlMs: 30_000,
    minRefreshMs: 5_000,
    now: () => now,
  });
  return {
    eks,
    fetches,
    sets,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("EksMembership: node sets are per account, region and cluster", () => {
  it("never answers for account B from account A's cluster of the same name (SPIRE's cache is global)", async () => {
    const w = world({ [`111111111111|${REGION}|prod`]: ["i-a"], [`222222222222|${REGION}|prod`]: ["i-b"] });
    expect(await w.eks.isMember("111111111111", REGION, "i-a", ["prod"])).toBe(true);
    // i-a is in A's "prod", not in B's: B's own set must be fetched and must decide.
    expect(await w.eks.isMember("222222222222", REGION, "i-a", ["prod"])).toBe(false);
    expect(await w.eks.isMember("222222222222", REGION, "i-b", ["prod"])).toBe(true);
    expect(w.fetches.filter((k) => k.startsWith("222222222222|"))).not.toHaveLength(0);
  });

  it("never answers for another region from a cluster of the same name", async () => {
    const w = world({ "111111111111|us-east-1|prod": ["i-a"], "111111111111|eu-west-1|prod": [] });
    expect(await w.eks.isMember("111111111111", "us-east-1", "i-a", ["prod"])).toBe(true);
    expect(await w.eks.isMember("111111111111", "eu-west-1", "i-a", ["prod"])).toBe(false);
  });

  it("serves a cached set to members, and refreshes it for an unknown node only once it is minRefreshMs old", async () => {
    const key = `111111111111|${REGION}|prod`;
    const w = world({ [key]: ["i-a"] });
    expect(await w.eks.isMember("111111111111", REGION, "i-a", ["prod"])).toBe(true);
    expect(await w.eks.isMember("111111111111", REGION, "i-a", ["prod"])).toBe(true);
    expect(w.fetches).toHaveLength(1);
    // A node launched after the set was fetched: not yet worth a refresh at 1 s...
    w.sets[key] = ["i-a", "i-new"];
    w.advance(1_000);
    expect(await w.eks.isMember("111111111111", REGION, "i-new", ["prod"])).toBe(false);
    expect(w.fetches).toHaveLength(1);
    // ...refreshed once the set is 5 s old, and then it is a member.
    w.advance(4_000);
    expect(await w.eks.isMember("111111111111", REGION, "i-new", ["prod"])).toBe(true);
    expect(w.fetches).toHaveLength(2);
  });
});

describe("EksMembership", () => {
  it("keys the node set by account, region and cluster, and refreshes a stale-enough set on a miss", async () => {
    let now = 0;
    const fetched: string[] = [];
    const sets = new Map<string, Set<string>>([["a|r|prod", new Set(["i-1"])]]);
    const eks = new EksMembership({
      now: () => now,
      ttlMs: 30_000,
      minRefreshMs: 5_000,
      fetch: async (account, region, cluster) => {
        const key = `${account}|${region}|${cluster}`;
        fetched.push(key);
        return new Set(sets.get(key) ?? []);
      },
    });
    expect(await eks.isMember("a", "r", "i-1", ["prod"])).toBe(true);
    expect(await eks.isMember("b", "r", "i-1", ["prod"])).toBe(false);
    expect(fetched).toEqual(["a|r|prod", "b|r|prod"]);
    // A node launched after the fetch: no refresh within 5 s, one refresh after.
    sets.get("a|r|prod")!.add("i-2");
    now = 1_000;
    expect(await eks.isMember("a", "r", "i-2", ["prod"])).toBe(false);
    now = 6_000;
    expect(await eks.isMember("a", "r", "i-2", ["prod"])).toBe(true);
    expect(fetched.filter((k) => k === "a|r|prod")).toHaveLength(2);
  });
});
