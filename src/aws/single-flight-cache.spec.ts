import { describe, expect, it } from "vitest";
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
