import { describe, expect, it } from "vitest";
import { watchHost } from "./host-watch";

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (check()) {
        clearInterval(t);
        resolve();
      }
    }, 2);
  });
}

describe("watchHost", () => {
  it("reports a changed parent pid once", async () => {
    let parent = 4242;
    const reasons: string[] = [];
    const w = watchHost({ ppid: () => parent, parentPollMs: 5, onHostGone: (r) => reasons.push(r) });
    parent = 1;
    await until(() => reasons.length > 0);
    await new Promise((r) => setTimeout(r, 30));
    expect(reasons).toEqual(["host process 4242 exited (parent is now 1)"]);
    w.stop();
  });

  it("reports a closed broker stream only if no Shutdown stops it within the grace", async () => {
    const reasons: string[] = [];
    const w = watchHost({
      ppid: () => 7,
      brokerCloseGraceMs: 10,
      onHostGone: (r) => reasons.push(r),
    });
    w.brokerClosed("cancelled");
    w.brokerClosed("ended");
    await until(() => reasons.length > 0);
    expect(reasons).toEqual([
      "the host closed its broker stream (cancelled) and made no call since, not even Shutdown",
    ]);

    const quiet: string[] = [];
    const w2 = watchHost({ ppid: () => 7, brokerCloseGraceMs: 10, onHostGone: (r) => quiet.push(r) });
    w2.brokerClosed("ended");
    w2.stop(); // the Shutdown that go-plugin sends right after closing the broker
    await new Promise((r) => setTimeout(r, 40));
    expect(quiet).toEqual([]);
    w.stop();
  });

  it("a host that keeps calling is alive, whatever happened to its broker stream", async () => {
    const reasons: string[] = [];
    const w = watchHost({ ppid: () => 7, brokerCloseGraceMs: 20, onHostGone: (r) => reasons.push(r) });
    w.brokerClosed("cancelled");
    for (let i = 0; i < 6; i++) {
      w.activity();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(reasons).toEqual([]);
    // Calls stop: the next grace period without one ends it.
    await until(() => reasons.length > 0);
    expect(reasons[0]).toMatch(/made no call since/);
    w.stop();
  });
});
