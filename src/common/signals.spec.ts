import { describe, expect, it } from "vitest";
import { rejection } from "../testkit/recording";
import { Code, unavailable } from "./errors";
import { abortReason, cancelled, raceSignal, sleep, startDeadline, throwIfAborted } from "./signals";

const never = new Promise<never>(() => {});

describe("abortReason", () => {
  it("passes a PluginError reason through", () => {
    const c = new AbortController();
    const reason = unavailable("plugin is shutting down");
    c.abort(reason);
    expect(abortReason(c.signal)).toBe(reason);
  });

  it("turns a bare abort into Cancelled and an AbortSignal.timeout into Unavailable", async () => {
    const c = new AbortController();
    c.abort();
    expect(abortReason(c.signal).code).toBe(Code.Cancelled);
    const t = AbortSignal.timeout(1);
    await new Promise((r) => t.addEventListener("abort", r));
    expect(abortReason(t).code).toBe(Code.Unavailable);
  });

  it("throwIfAborted throws the reason only once fired", () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
    c.abort(cancelled());
    expect(() => throwIfAborted(c.signal)).toThrow("attestation cancelled");
  });
});

describe("raceSignal", () => {
  it("settles like the work while the signal is quiet", async () => {
    const c = new AbortController();
    await expect(raceSignal(Promise.resolve(7), c.signal)).resolves.toBe(7);
    await expect(raceSignal(Promise.reject(new Error("boom")), c.signal)).rejects.toThrow("boom");
    await expect(raceSignal(Promise.resolve(8), undefined)).resolves.toBe(8);
  });

  it("rejects with the reason as soon as the signal fires, and at once when it already has", async () => {
    const c = new AbortController();
    const pending = raceSignal(never, c.signal);
    c.abort(cancelled());
    expect((await rejection(pending)).code).toBe(Code.Cancelled);
    const late = Promise.reject(new Error("late"));
    expect((await rejection(raceSignal(late, c.signal))).message).toBe("attestation cancelled");
  });
});

describe("sleep", () => {
  it("waits, and stops with the reason when the signal fires", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const c = new AbortController();
    const pending = sleep(60_000, c.signal);
    c.abort(unavailable("stop"));
    expect((await rejection(pending)).message).toBe("stop");
  });
});

describe("startDeadline", () => {
  it("fires with the timeout reason once the time is up", async () => {
    const d = startDeadline(5, () => unavailable("too slow"));
    const err = await rejection(raceSignal(never, d.signal));
    expect(err.message).toBe("too slow");
    expect(d.remainingMs()).toBe(0);
    d.dispose();
  });

  it("fires with a parent's reason when a parent fires first", async () => {
    const parent = new AbortController();
    const d = startDeadline(60_000, () => unavailable("too slow"), undefined, parent.signal);
    expect(d.remainingMs()).toBeGreaterThan(59_000);
    parent.abort(cancelled());
    expect((await rejection(raceSignal(never, d.signal))).code).toBe(Code.Cancelled);
    d.dispose();
  });

  it("does not fire after dispose", async () => {
    const d = startDeadline(5, () => unavailable("too slow"));
    d.dispose();
    await sleep(30);
    expect(d.signal.aborted).toBe(false);
  });
});
