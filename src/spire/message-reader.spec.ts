/**
 * Reading SPIRE's side of an Attest stream: messages in order whether they arrive before or
 * after the read, undefined once the stream ends or is cancelled, and a peer that floods the
 * stream without being asked is refused with InvalidArgument.
 */
import { PassThrough } from "node:stream";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { rejection } from "../testkit/recording";
import { MessageReader } from "./message-reader";

/** An object-mode stream in place of the grpc-js call: the reader only listens to data and end. */
function stream(): { call: PassThrough; reader: MessageReader<string>; abort: () => void } {
  const call = new PassThrough({ objectMode: true });
  const controller = new AbortController();
  const reader = new MessageReader<string>(
    call as unknown as ServerDuplexStream<string, unknown>,
    controller.signal,
  );
  return { call, reader, abort: () => controller.abort() };
}

/** Lets the stream deliver what was written. */
const delivered = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("MessageReader", () => {
  it("gives queued messages in order, then waits for the next one", async () => {
    const { call, reader } = stream();
    call.write("first");
    call.write("second");
    await delivered();
    expect(await reader.next()).toBe("first");
    expect(await reader.next()).toBe("second");
    const pending = reader.next();
    call.write("third");
    expect(await pending).toBe("third");
  });

  it("answers undefined once the stream ends, after what was already queued", async () => {
    const { call, reader } = stream();
    call.write("last");
    call.end();
    await delivered();
    expect(await reader.next()).toBe("last");
    expect(await reader.next()).toBeUndefined();
    expect(await reader.next()).toBeUndefined();
  });

  it("resolves a pending read with undefined when the call is cancelled", async () => {
    const { reader, abort } = stream();
    const pending = reader.next();
    abort();
    expect(await pending).toBeUndefined();
  });

  it("refuses a peer that queues more than 8 unrequested messages", async () => {
    const { call, reader } = stream();
    for (let i = 0; i < 8; i++) call.write(`m${i}`);
    await delivered();
    expect(await reader.next()).toBe("m0");
    for (let i = 8; i < 10; i++) call.write(`m${i}`);
    await delivered();
    expect(await rejection(reader.next())).toEqual({
      code: Code.InvalidArgument,
      message: "too many unexpected messages on the stream",
    });
  });

  it("refuses two reads at once", async () => {
    const { reader } = stream();
    void reader.next();
    await expect(reader.next()).rejects.toThrow("concurrent reads on one stream");
  });
});
