import { describe, expect, it } from "vitest";
import { EksMembership } from "./eks-membership";
import { SingleFlightCache } from "./single-flight-cache";

describe("SingleFlightCache", () => {
  it("shares one load among concurrent misses, expires after the TTL, and stays bounded", async () => {
    let now = 0;
    let loads = 0;
    const cache = new SingleFlightCache<number>({ ttlMs: 1000, maxEntries: 2, now: () => now });
    const load = async (): Promise<number> => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return loads;
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.get("a", load)));
    expect(loads).toBe(1);
    expect(results.filter((r) => !r.hit)).toHaveLength(1);
    now = 999;
    expect((await cache.get("a", load)).hit).toBe(true);
    now = 1000;
    expect((await cache.get("a", load)).hit).toBe(false);
    await cache.get("b", load);
    await cache.get("c", load);
    expect(cache.size).toBe(2);
  });

  it("does not cache failures", async () => {
    const cache = new SingleFlightCache<string>({ ttlMs: 1000, maxEntries: 10 });
    await expect(cache.get("k", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect((await cache.get("k", async () => "ok")).value).toBe("ok");
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
