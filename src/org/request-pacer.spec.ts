import { describe, expect, it } from "vitest";
import { RequestPacer } from "./request-pacer";

describe("RequestPacer", () => {
  it("lets a burst through, then spaces requests at its rate", async () => {
    let now = 0;
    const sleeps: number[] = [];
    const pacer = new RequestPacer(
      4,
      6,
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    const signal = new AbortController().signal;
    for (let i = 0; i < 10; i++) await pacer.take(signal);
    expect(sleeps).toEqual([250, 250, 250, 250]);
    expect(now).toBe(1_000); // 6 at once + 4 more at 4/s
  });

  it("stops waiting when the listing's deadline passes", async () => {
    const pacer = new RequestPacer(
      1,
      1,
      () => 0,
      (_ms, signal) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const controller = new AbortController();
    await pacer.take(controller.signal);
    const waiting = pacer.take(controller.signal);
    controller.abort(new Error("deadline"));
    await expect(waiting).rejects.toThrow("deadline");
  });
});
