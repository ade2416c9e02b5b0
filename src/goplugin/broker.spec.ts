/**
 * go-plugin's broker as the plugin sees it: a ConnInfo announced before or after a wait
 * reaches the waiter, the latest announcement wins, and a wait ends with undefined at its
 * deadline or when its caller gives up.
 */
import { describe, expect, it } from "vitest";
import { Broker } from "./broker";

const info = (serviceId: number, address: string) => ({ serviceId, network: "unix", address });

describe("Broker", () => {
  it("answers a wait at once when the service was announced, keeping the latest announcement", async () => {
    const broker = new Broker();
    broker.record(info(1, "/tmp/a.sock"));
    broker.record(info(1, "/tmp/b.sock"));
    expect(await broker.wait(1, 10)).toEqual(info(1, "/tmp/b.sock"));
    expect(broker.get(2)).toBeUndefined();
  });

  it("wakes every waiter of a service when it is announced later, and only theirs", async () => {
    const broker = new Broker();
    const first = broker.wait(1, 60_000);
    const second = broker.wait(1, 60_000);
    const other = broker.wait(2, 50);
    broker.record(info(1, "/tmp/host.sock"));
    expect(await first).toEqual(info(1, "/tmp/host.sock"));
    expect(await second).toEqual(info(1, "/tmp/host.sock"));
    expect(await other).toBeUndefined();
  });

  it("ends a wait with undefined when its caller aborts, before or during the wait", async () => {
    const broker = new Broker();
    const aborted = new AbortController();
    aborted.abort();
    expect(await broker.wait(1, 60_000, aborted.signal)).toBeUndefined();
    const c = new AbortController();
    const waiting = broker.wait(1, 60_000, c.signal);
    c.abort();
    expect(await waiting).toBeUndefined();
    // A later announcement is still recorded for the next wait.
    broker.record(info(1, "/tmp/late.sock"));
    expect(await broker.wait(1, 0)).toEqual(info(1, "/tmp/late.sock"));
  });
});
