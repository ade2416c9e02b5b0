import { describe, expect, it } from "vitest";
import { DescribeInstancesBatcher } from "./describe-instances-batcher";
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

describe("DescribeInstancesBatcher", () => {
  const target = { key: "a|r", account: "a", region: "r" };

  it("makes ceil(N/200) calls for N concurrent distinct lookups and de-duplicates IDs", async () => {
    const calls: number[] = [];
    const batcher = new DescribeInstancesBatcher<string>({
      windowMs: 5,
      fetch: async (_t, ids) => {
        calls.push(ids.length);
        return new Map(ids.filter((id) => !id.endsWith("x")).map((id) => [id, `instance ${id}`]));
      },
    });
    const ids = Array.from({ length: 1000 }, (_, i) => `i-${i}`);
    const out = await Promise.all([...ids, "i-0", "i-1x"].map((id) => batcher.lookup(target, id)));
    // i-0 was already sent in the first (full, flushed early) call, so it joins the last one.
    expect(calls).toEqual([200, 200, 200, 200, 200, 2]);
    expect(out[0]).toBe("instance i-0");
    expect(out[1000]).toBe("instance i-0");
    expect(out[1001]).toBeUndefined();
    calls.length = 0;
    await Promise.all(Array.from({ length: 10 }, () => batcher.lookup(target, "i-7")));
    expect(calls).toEqual([1]);
  });

  it("rejects only the lookups carried by a failed call", async () => {
    let n = 0;
    const batcher = new DescribeInstancesBatcher<string>({
      windowMs: 5,
      maxIdsPerCall: 2,
      fetch: async (_t, ids) => {
        n += 1;
        if (n === 1) throw new Error("throttled");
        return new Map(ids.map((id) => [id, id]));
      },
    });
    const out = await Promise.allSettled(["i-1", "i-2", "i-3"].map((id) => batcher.lookup(target, id)));
    expect(out.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled"]);
  });

  it("calls once per lookup with a zero window", async () => {
    let calls = 0;
    const batcher = new DescribeInstancesBatcher<string>({
      windowMs: 0,
      fetch: async (_t, ids) => {
        calls += 1;
        return new Map(ids.map((id) => [id, id]));
      },
    });
    await Promise.all(["i-1", "i-2", "i-3"].map((id) => batcher.lookup(target, id)));
    expect(calls).toBe(3);
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
