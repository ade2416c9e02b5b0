/**
 * DescribeInstancesBatcher: grouping, budget and per-caller answers. The budget rules run on a
 * manual clock (no real waiting, no timing asserts): tokens left → sent on the next turn;
 * budget spent → one call per window until a window passes idle; 200 waiting → sent at once
 * while a token is left; keys independent; an aborted caller leaves the call without hurting
 * the others.
 */
import { describe, expect, it } from "vitest";
import { type BatcherClock, type BatchTarget, DescribeInstancesBatcher } from "./describe-instances-batcher";

/** Timers that run only when the test advances time. */
class ManualClock implements BatcherClock {
  private time = 0;
  private tasks: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  private seq = 0;

  now(): number {
    return this.time;
  }

  get pending(): number {
    return this.tasks.filter((t) => t.live).length;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const task = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn, live: true };
    this.tasks.push(task);
    return () => {
      task.live = false;
    };
  }

  /** Moves time forward by `ms`, running every timer due on the way (in order), then lets promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const next = this.tasks
        .filter((t) => t.live && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.time = next.at;
      next.live = false;
      next.fn();
      await settle();
    }
    this.tasks = this.tasks.filter((t) => t.live);
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

interface Call {
  at: number;
  key: string;
  ids: readonly string[];
}

function rig(
  windowMs: number,
  opts: { maxIdsPerCall?: number; fail?: (call: Call) => boolean; hold?: boolean } = {},
): {
  clock: ManualClock;
  calls: Call[];
  batcher: DescribeInstancesBatcher<string>;
  release: () => void;
} {
  const clock = new ManualClock();
  const calls: Call[] = [];
  const held: (() => void)[] = [];
  const batcher = new DescribeInstancesBatcher<string>({
    windowMs,
    clock,
    ...(opts.maxIdsPerCall === undefined ? {} : { maxIdsPerCall: opts.maxIdsPerCall }),
    fetch: (target, ids) => {
      const call: Call = { at: clock.now(), key: target.key, ids: [...ids] };
      calls.push(call);
      const answer = (): Map<string, string> => {
        if (opts.fail?.(call) === true) throw new Error(`call ${calls.indexOf(call) + 1} throttled`);
        // IDs ending in "x" are unknown to EC2 (filtered calls omit them).
        return new Map(ids.filter((id) => !id.endsWith("x")).map((id) => [id, `${target.key}:${id}`]));
      };
      if (opts.hold !== true) return Promise.resolve().then(answer);
      return new Promise((resolve, reject) => {
        held.push(() => {
          try {
            resolve(answer());
          } catch (err) {
            reject(err);
          }
        });
      });
    },
  });
  return {
    clock,
    calls,
    batcher,
    release: () => {
      for (const f of held.splice(0)) f();
    },
  };
}

const A: BatchTarget = { key: "111111111111|us-east-1", account: "111111111111", region: "us-east-1" };
const B: BatchTarget = { key: "222222222222|us-east-1", account: "222222222222", region: "us-east-1" };

/** Records how each lookup ended, without awaiting it. */
function track<T>(p: Promise<T>): { state: () => string; value: () => T | undefined } {
  let state = "pending";
  let value: T | undefined;
  p.then(
    (v) => {
      state = "fulfilled";
      value = v;
    },
    (err: unknown) => {
      state = `rejected: ${err instanceof Error ? err.message : String(err)}`;
    },
  );
  return { state: () => state, value: () => value };
}

describe("DescribeInstancesBatcher budget", () => {
  it("sends an idle lookup on the next turn, sharing it with lookups of the same turn", async () => {
    const { clock, calls, batcher } = rig(200);
    const one = track(batcher.lookup(A, "i-1"));
    const two = track(batcher.lookup(A, "i-2"));
    expect(calls).toHaveLength(0);
    await clock.advance(0);
    expect(calls).toEqual([{ at: 0, key: A.key, ids: ["i-1", "i-2"] }]);
    expect(one.value()).toBe(`${A.key}:i-1`);
    expect(two.value()).toBe(`${A.key}:i-2`);
  });

  it("never makes a lone lookup wait at a steady rate of one per window", async () => {
    const { clock, calls, batcher } = rig(200);
    for (let t = 0; t <= 4_000; t += 200) {
      await clock.advance(t - clock.now());
      void batcher.lookup(A, `i-${t}`);
      await clock.advance(0);
      expect(calls.at(-1)).toEqual({ at: t, key: A.key, ids: [`i-${t}`] });
    }
  });

  it("spends the burst at once, then coalesces to one call per window until a window passes idle", async () => {
    const { clock, calls, batcher } = rig(200);
    void batcher.lookup(A, "i-1");
    await clock.advance(30);
    void batcher.lookup(A, "i-2");
    await clock.advance(0);
    // Two calls back to back (BURST_CALLS), each at once.
    expect(calls.map((c) => [c.at, c.ids])).toEqual([
      [0, ["i-1"]],
      [30, ["i-2"]],
    ]);
    // The budget is spent: arrivals wait for the next token (due at 200), however spread out.
    await clock.advance(50);
    const three = track(batcher.lookup(A, "i-3"));
    await clock.advance(50);
    const four = track(batcher.lookup(A, "i-4"));
    await clock.advance(199 - clock.now());
    expect(calls).toHaveLength(2);
    expect([three.state(), four.state()]).toEqual(["pending", "pending"]);
    await clock.advance(1);
    expect(calls[2]).toEqual({ at: 200, key: A.key, ids: ["i-3", "i-4"] });
    expect(four.value()).toBe(`${A.key}:i-4`);

    // A steady trickle: one call per window, never more than the budget allows.
    for (let t = 205; t < 1_200; t += 10) {
      await clock.advance(t - clock.now());
      void batcher.lookup(A, `i-t${t}`);
    }
    await clock.advance(1_000);
    const starts = calls.map((c) => c.at);
    for (let i = 3; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(200);
    for (const t of starts) {
      const inSecond = starts.filter((s) => s >= t && s < t + 1_000).length;
      expect(inSecond).toBeLessThanOrEqual(2 + 5);
    }
    expect(calls.reduce((n, c) => n + c.ids.length, 0)).toBe(4 + 100);

    // A window with nothing waiting ends the coalescing; once the budget is full the key is
    // forgotten and the next lookup goes out at once.
    await clock.advance(1_000);
    expect(clock.pending).toBe(0);
    void batcher.lookup(A, "i-later");
    await clock.advance(0);
    expect(calls.at(-1)).toEqual({ at: clock.now(), key: A.key, ids: ["i-later"] });
  });

  it("sends 200 waiting IDs at once while a token is left, and splits larger backlogs over the budget", async () => {
    const { clock, calls, batcher } = rig(200);
    void batcher.lookup(A, "i-first");
    await clock.advance(0);
    await clock.advance(50);
    const ids = Array.from({ length: 450 }, (_, i) => `i-${i}`);
    const all = Promise.all(ids.map((id) => batcher.lookup(A, id)));
    // One token left at t=50: the first 200 went out at once; the rest wait for tokens.
    expect(calls.map((c) => [c.at, c.ids.length])).toEqual([
      [0, 1],
      [50, 200],
    ]);
    await clock.advance(1_000);
    expect(calls.map((c) => [c.at, c.ids.length])).toEqual([
      [0, 1],
      [50, 200],
      [200, 200],
      [400, 50],
    ]);
    expect(await all).toEqual(ids.map((id) => `${A.key}:${id}`));
  });

  it("budgets each credentials scope and region independently", async () => {
    const { clock, calls, batcher } = rig(200);
    for (const id of ["i-a1", "i-a2", "i-a3"]) {
      void batcher.lookup(A, id);
      await clock.advance(10);
    }
    void batcher.lookup(B, "i-b1");
    await clock.advance(0);
    expect(calls.map((c) => [c.at, c.key, c.ids])).toEqual([
      [0, A.key, ["i-a1"]],
      [10, A.key, ["i-a2"]],
      [30, B.key, ["i-b1"]],
    ]);
    await clock.advance(200);
    expect(calls.map((c) => [c.at, c.key, c.ids])[3]).toEqual([200, A.key, ["i-a3"]]);
  });

  it("answers an aborted caller at once and drops its ID from the waiting call, without hurting others", async () => {
    const { clock, calls, batcher } = rig(200);
    // Spend the burst, so the lookups below wait for the next token (t=200).
    void batcher.lookup(A, "i-0");
    await clock.advance(0);
    void batcher.lookup(A, "i-00");
    await clock.advance(0);
    const gone = new AbortController();
    const shared = new AbortController();
    const cancelled = track(batcher.lookup(A, "i-gone", gone.signal));
    const sharedCancelled = track(batcher.lookup(A, "i-shared", shared.signal));
    const sharedKept = track(batcher.lookup(A, "i-shared"));
    const other = track(batcher.lookup(A, "i-other"));
    await clock.advance(50);
    gone.abort(new Error("attestation cancelled"));
    shared.abort(new Error("deadline"));
    await settle();
    expect(cancelled.state()).toBe("rejected: attestation cancelled");
    expect(sharedCancelled.state()).toBe("rejected: deadline");
    await clock.advance(150);
    expect(calls[2]?.ids).toEqual(["i-shared", "i-other"]);
    expect(sharedKept.value()).toBe(`${A.key}:i-shared`);
    expect(other.value()).toBe(`${A.key}:i-other`);

    // Every waiting caller aborted: no call at all, and the key goes idle.
    await clock.advance(500);
    const lone = new AbortController();
    const l = track(batcher.lookup(A, "i-lone", lone.signal));
    lone.abort(new Error("gone"));
    await clock.advance(1_000);
    expect(l.state()).toBe("rejected: gone");
    expect(calls).toHaveLength(3);
    expect(clock.pending).toBe(0);

    // An already aborted signal never reaches the batch.
    await expect(batcher.lookup(A, "i-late", AbortSignal.abort(new Error("late")))).rejects.toThrow("late");
    await clock.advance(1_000);
    expect(calls).toHaveLength(3);
  });

  it("answers an aborted caller of a call in flight at once; the call still answers the others", async () => {
    const { clock, calls, batcher, release } = rig(200, { hold: true });
    const ac = new AbortController();
    const mine = track(batcher.lookup(A, "i-1", ac.signal));
    const theirs = track(batcher.lookup(A, "i-1"));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    ac.abort(new Error("cancelled"));
    await settle();
    expect(mine.state()).toBe("rejected: cancelled");
    expect(theirs.state()).toBe("pending");
    release();
    await settle();
    expect(theirs.value()).toBe(`${A.key}:i-1`);
  });

  it("gives each caller its own answer: found, not found, duplicates, and failures only for the IDs carried", async () => {
    const { clock, batcher } = rig(200, { maxIdsPerCall: 2, fail: (c) => c.ids.includes("i-bad") });
    const out = [
      track(batcher.lookup(A, "i-1")),
      track(batcher.lookup(A, "i-bad")),
      track(batcher.lookup(A, "i-2x")),
      track(batcher.lookup(A, "i-1")),
      track(batcher.lookup(A, "i-3")),
    ];
    await clock.advance(0);
    await clock.advance(200);
    // Call 1 (full at 2 IDs, sent at once) carried i-1 and i-bad; the second i-1 came after
    // it was sent, so it rode call 2 with i-2x and got its answer.
    expect(out.map((o) => o.state())).toEqual([
      "rejected: call 1 throttled",
      "rejected: call 1 throttled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect(out[3]!.value()).toBe(`${A.key}:i-1`);
    expect(out[2]!.value()).toBeUndefined();
    expect(out[4]!.value()).toBe(`${A.key}:i-3`);
  });

  it("sends what is waiting on flushAll (close) and leaves no timer behind", async () => {
    const { clock, calls, batcher } = rig(200);
    void batcher.lookup(A, "i-1");
    await clock.advance(0);
    const waiting = track(batcher.lookup(A, "i-2"));
    batcher.flushAll();
    expect(calls.map((c) => c.ids)).toEqual([["i-1"], ["i-2"]]);
    expect(clock.pending).toBe(0);
    await settle();
    expect(waiting.value()).toBe(`${A.key}:i-2`);
  });

  it("calls once per lookup with a zero window (SPIRE's pattern), at once", async () => {
    const { calls, batcher } = rig(0);
    const out = await Promise.all(["i-1", "i-2", "i-1"].map((id) => batcher.lookup(A, id)));
    expect(calls.map((c) => c.ids)).toEqual([["i-1"], ["i-2"], ["i-1"]]);
    expect(out).toEqual(["i-1", "i-2", "i-1"].map((id) => `${A.key}:${id}`));
  });
});

describe("DescribeInstancesBatcher with real timers", () => {
  it("makes ceil(N/200) calls for N concurrent distinct lookups and de-duplicates IDs", async () => {
    const sizes: number[] = [];
    // A budget as large as the calls needed: this is about grouping, not pacing.
    const batcher = new DescribeInstancesBatcher<string>({
      windowMs: 5,
      burst: 10,
      fetch: async (_t, ids) => {
        sizes.push(ids.length);
        return new Map(ids.filter((id) => !id.endsWith("x")).map((id) => [id, `instance ${id}`]));
      },
    });
    const ids = Array.from({ length: 1000 }, (_, i) => `i-${i}`);
    const out = await Promise.all([...ids, "i-0", "i-1x"].map((id) => batcher.lookup(A, id)));
    // i-0 was already sent in the first (full, sent at once) call, so it joins the last one.
    expect(sizes).toEqual([200, 200, 200, 200, 200, 2]);
    expect(out[0]).toBe("instance i-0");
    expect(out[1000]).toBe("instance i-0");
    expect(out[1001]).toBeUndefined();
    sizes.length = 0;
    await Promise.all(Array.from({ length: 10 }, () => batcher.lookup(A, "i-7")));
    expect(sizes).toEqual([1]);
  });
});
