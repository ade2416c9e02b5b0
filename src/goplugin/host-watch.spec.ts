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
    w.brokerClosed();
    w.brokerClosed();
    await until(() => reasons.length > 0);
    expect(reasons).toEqual(["the host closed its broker stream and sent no Shutdown"]);

    const quiet: string[] = [];
    const w2 = watchHost({ ppid: () => 7, brokerCloseGraceMs: 10, onHostGone: (r) => quiet.push(r) });
    w2.brokerClosed();
    w2.stop(); // the Shutdown that go-plugin sends right after closing the broker
    await new Promise((r) => setTimeout(r, 40));
    expect(quiet).toEqual([]);
    w.stop();
  });
});
