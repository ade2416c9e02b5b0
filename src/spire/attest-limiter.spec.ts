import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { cancelled } from "../common/signals";
import {
  AttestLimiter,
  DEFAULT_MAX_CONCURRENT_ATTESTATIONS,
  DEFAULT_MAX_QUEUED_ATTESTATIONS,
  TOO_MANY_ATTESTATIONS,
} from "./attest-limiter";

const live = (): AbortSignal => new AbortController().signal;

describe("AttestLimiter", () => {
  it("defaults to 256 at once and 1024 waiting", () => {
    const l = new AttestLimiter();
    expect([l.maxConcurrent, l.maxQueued]).toEqual([256, 1024]);
    expect([DEFAULT_MAX_CONCURRENT_ATTESTATIONS, DEFAULT_MAX_QUEUED_ATTESTATIONS]).toEqual([256, 1024]);
  });

  it("queues beyond the cap in FIFO order and refuses with Unavailable beyond the queue", async () => {
    const l = new AttestLimiter({ maxConcurrent: 2, maxQueued: 2 });
    const r1 = await l.acquire(live());
    const r2 = await l.acquire(live());
    const order: string[] = [];
    const q1 = l.acquire(live()).then((r) => {
      order.push("q1");
      return r;
    });
    const q2 = l.acquire(live()).then((r) => {
      order.push("q2");
      return r;
    });
    expect([l.inFlight, l.queued]).toEqual([2, 2]);
    await expect(l.acquire(live())).rejects.toMatchObject({
      code: Code.Unavailable,
      message: TOO_MANY_ATTESTATIONS,
    });
    r1();
    r1(); // a second release of the same slot is a no-op
    const g1 = await q1;
    expect([l.inFlight, l.queued]).toEqual([2, 1]);
    r2();
    const g2 = await q2;
    expect(order).toEqual(["q1", "q2"]);
    g1();
    g2();
    expect([l.inFlight, l.queued]).toEqual([0, 0]);
  });

  it("a cancelled waiter leaves the queue and gets the signal's reason", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 4 });
    const r = await l.acquire(live());
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal);
    const after = l.acquire(live());
    expect(l.queued).toBe(2);
    ac.abort(cancelled());
    await expect(waiting).rejects.toMatchObject({ code: Code.Cancelled, message: "attestation cancelled" });
    expect(l.queued).toBe(1);
    r();
    const g = await after;
    expect(l.inFlight).toBe(1);
    g();
    expect(l.inFlight).toBe(0);
  });

  it("refuses an already-cancelled stream without taking a slot", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 0 });
    const ac = new AbortController();
    ac.abort();
    await expect(l.acquire(ac.signal)).rejects.toMatchObject({ code: Code.Cancelled });
    expect(l.inFlight).toBe(0);
  });
});
