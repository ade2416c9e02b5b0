/**
 * The shared-quota pacer on a manual clock: a burst at once, then one token per 1/rate, waiters
 * in arrival order, a bounded wait refused without taking a token, and a cancelled wait that
 * gives its token back.
 */
import { describe, expect, it } from "vitest";
import { cancelled } from "../common/signals";
import { ManualClock } from "../testkit/manual-clock";
import { RequestPacer } from "./request-pacer";

describe("RequestPacer", () => {
  it("refuses a rate or burst that could never give a token", () => {
    expect(() => new RequestPacer(0, 1)).toThrow(RangeError);
    expect(() => new RequestPacer(1, 0.5)).toThrow(RangeError);
    expect(() => new RequestPacer(Number.NaN, 1)).toThrow(RangeError);
  });

  it("serves the burst at once, then one caller per 1/rate, in arrival order", async () => {
    const clock = new ManualClock();
    const pacer = new RequestPacer(4, 2, clock);
    const served: number[] = [];
    const calls = [0, 1, 2, 3].map((i) => pacer.take().then(() => served.push(i)));
    await clock.advance(0);
    expect(served).toEqual([0, 1]);
    await clock.advance(249);
    expect(served).toEqual([0, 1]);
    await clock.advance(1);
    expect(served).toEqual([0, 1, 2]);
    await clock.advance(250);
    expect(served).toEqual([0, 1, 2, 3]);
    await Promise.all(calls);
  });

  it("refills with time up to the burst, never beyond", async () => {
    const clock = new ManualClock();
    const pacer = new RequestPacer(10, 3, clock);
    for (let i = 0; i < 3; i++) await pacer.take();
    expect(pacer.waitMs()).toBe(100);
    await clock.advance(60_000);
    for (let i = 0; i < 3; i++) expect(await pacer.take(undefined, 0)).toBe(true);
    expect(await pacer.take(undefined, 0)).toBe(false);
  });

  it("answers false without taking a token when the wait would exceed maxWaitMs", async () => {
    const clock = new ManualClock();
    const pacer = new RequestPacer(1, 1, clock);
    await pacer.take();
    expect(pacer.waitMs()).toBe(1000);
    expect(await pacer.take(undefined, 999)).toBe(false);
    // The refusal took nothing: the next caller waits the same second, not two.
    expect(pacer.waitMs()).toBe(1000);
    const taken = pacer.take(undefined, 1000);
    await clock.advance(1000);
    expect(await taken).toBe(true);
  });

  it("gives the token back when its wait is cancelled, and refuses an already aborted signal", async () => {
    const clock = new ManualClock();
    const pacer = new RequestPacer(1, 1, clock);
    await pacer.take();
    const c = new AbortController();
    const waiting = pacer.take(c.signal);
    expect(pacer.waitMs()).toBe(2000);
    c.abort(cancelled("stop"));
    await expect(waiting).rejects.toMatchObject({ message: "stop" });
    expect(pacer.waitMs()).toBe(1000);
    await expect(pacer.take(c.signal)).rejects.toMatchObject({ message: "stop" });
    expect(pacer.waitMs()).toBe(1000);
  });
});
