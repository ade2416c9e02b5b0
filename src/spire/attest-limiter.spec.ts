import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { cancelled } from "../common/signals";
import {
  type Admission,
  type AdmissionRequest,
  AttestLimiter,
  DEFAULT_MAX_ATTESTATION_BYTES,
  DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS,
  DEFAULT_MAX_CONCURRENT_ATTESTATIONS,
  DEFAULT_MAX_PENDING_CHALLENGES,
  DEFAULT_MAX_QUEUED_ATTESTATIONS,
  TOO_MANY_ATTESTATIONS,
} from "./attest-limiter";

const live = (): AbortSignal => new AbortController().signal;
const small: AdmissionRequest = { bytes: 100, source: undefined };
const admit = (l: AttestLimiter, request = small, signal = live()): Promise<Admission> =>
  l.admit(signal, request);

describe("AttestLimiter", () => {
  it("defaults to 256 at once, 8192 waiting, 32 MiB held, 64 per address, 4096 waiting on agents", () => {
    const l = new AttestLimiter();
    expect([l.maxConcurrent, l.maxQueued]).toEqual([256, 8192]);
    expect([
      DEFAULT_MAX_CONCURRENT_ATTESTATIONS,
      DEFAULT_MAX_QUEUED_ATTESTATIONS,
      DEFAULT_MAX_ATTESTATION_BYTES,
      DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS,
      DEFAULT_MAX_PENDING_CHALLENGES,
    ]).toEqual([256, 8192, 32 * 1024 * 1024, 64, 4096]);
  });

  it("queues beyond the cap in FIFO order and refuses with Unavailable beyond the queue", async () => {
    const l = new AttestLimiter({ maxConcurrent: 2, maxQueued: 2 });
    const r1 = await admit(l);
    const r2 = await admit(l);
    const order: string[] = [];
    const q1 = admit(l).then((r) => {
      order.push("q1");
      return r;
    });
    const q2 = admit(l).then((r) => {
      order.push("q2");
      return r;
    });
    expect([l.inFlight, l.queued]).toEqual([2, 2]);
    await expect(admit(l)).rejects.toMatchObject({ code: Code.Unavailable, message: TOO_MANY_ATTESTATIONS });
    r1.release();
    r1.release(); // a second release of the same admission is a no-op
    const g1 = await q1;
    expect([l.inFlight, l.queued]).toEqual([2, 1]);
    r2.release();
    const g2 = await q2;
    expect(order).toEqual(["q1", "q2"]);
    g1.release();
    g2.release();
    expect([l.inFlight, l.queued, l.heldBytes]).toEqual([0, 0, 0]);
  });

  it("a cancelled waiter leaves the queue, gives its bytes back and gets the caller's error", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 4 });
    const r = await admit(l);
    const ac = new AbortController();
    const waiting = admit(l, small, ac.signal);
    const after = admit(l);
    expect([l.queued, l.heldBytes]).toEqual([2, 300]);
    ac.abort(cancelled());
    await expect(waiting).rejects.toMatchObject({ code: Code.Cancelled, message: "attestation cancelled" });
    expect([l.queued, l.heldBytes]).toEqual([1, 200]);
    r.release();
    const g = await after;
    expect(l.inFlight).toBe(1);
    g.release();
    expect([l.inFlight, l.heldBytes]).toEqual([0, 0]);
  });

  it("refuses an already-cancelled stream without taking anything", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 0 });
    const ac = new AbortController();
    ac.abort();
    await expect(admit(l, small, ac.signal)).rejects.toMatchObject({ code: Code.Cancelled });
    expect([l.inFlight, l.heldBytes]).toEqual([0, 0]);
  });

  // issue 17 item 1: 1,024 queued streams with 1 MB first messages held 2 GiB.
  it("bounds the bytes held by queued and running streams: ResourceExhausted beyond the budget", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 100, maxBytes: 1000 });
    const running = await admit(l, { bytes: 400, source: undefined });
    const queued = admit(l, { bytes: 500, source: undefined });
    expect(l.heldBytes).toBe(900);
    await expect(admit(l, { bytes: 200, source: undefined })).rejects.toMatchObject({
      code: Code.ResourceExhausted,
      message: expect.stringContaining("attestation_memory_limit_mib"),
    });
    // A challenge answer counts too.
    expect(() => running.hold(200)).toThrow(expect.objectContaining({ code: Code.ResourceExhausted }));
    running.hold(100);
    expect(l.heldBytes).toBe(1000);
    running.release();
    (await queued).release();
    expect(l.heldBytes).toBe(0);
    (await admit(l, { bytes: 1000, source: undefined })).release();
  });

  it("lets one address have at most maxPerSource admitted; others and unknown addresses are unaffected", async () => {
    const l = new AttestLimiter({ maxConcurrent: 2, maxQueued: 10, maxPerSource: 3 });
    const flood = { bytes: 1, source: "10.0.0.66" };
    const first = await admit(l, flood);
    const second = await admit(l, flood);
    const third = admit(l, flood);
    await expect(admit(l, flood)).rejects.toMatchObject({
      code: Code.ResourceExhausted,
      message: expect.stringContaining("10.0.0.66"),
    });
    const other = admit(l, { bytes: 1, source: "10.0.0.7" });
    const unknown = admit(l, { bytes: 1, source: undefined });
    expect(l.queued).toBe(3);
    first.release();
    (await third).release();
    second.release();
    (await other).release();
    (await unknown).release();
    (await admit(l, flood)).release();
    expect([l.inFlight, l.queued, l.heldBytes]).toEqual([0, 0, 0]);
  });

  it("a stream waiting on its agent holds no slot, and comes back ahead of new attestations", async () => {
    const l = new AttestLimiter({ maxConcurrent: 1, maxQueued: 0 });
    const silent = await admit(l);
    silent.suspend();
    expect([l.inFlight, l.waitingOnAgent]).toEqual([0, 1]);
    // The slot is free for someone else while the first waits on its agent...
    const honest = await admit(l);
    // ...and the first, back with its answer, waits for that slot without a queue place.
    const back = silent.resume(live());
    expect([l.queued, l.waitingOnAgent]).toEqual([1, 0]);
    honest.release();
    await back;
    expect(l.inFlight).toBe(1);
    silent.release();
    expect([l.inFlight, l.queued, l.heldBytes]).toEqual([0, 0, 0]);
  });

  it("bounds the streams waiting on their agents: ResourceExhausted beyond maxPendingChallenges", async () => {
    const l = new AttestLimiter({ maxConcurrent: 4, maxPendingChallenges: 2 });
    const a = await admit(l);
    const b = await admit(l);
    const c = await admit(l);
    a.suspend();
    b.suspend();
    expect(() => c.suspend()).toThrow(expect.objectContaining({ code: Code.ResourceExhausted }));
    a.release();
    c.suspend();
    expect(l.waitingOnAgent).toBe(2);
    b.release();
    c.release();
    expect([l.inFlight, l.waitingOnAgent, l.heldBytes]).toEqual([0, 0, 0]);
  });

  it("applies new limits to new admissions only", async () => {
    const l = new AttestLimiter({ maxBytes: 1000 });
    const a = await admit(l, { bytes: 800, source: undefined });
    l.setLimits({ maxBytes: 500 });
    await expect(admit(l, { bytes: 1, source: undefined })).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
    a.release();
    (await admit(l, { bytes: 500, source: undefined })).release();
  });
});
