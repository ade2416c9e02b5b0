/**
 * How a NodeAttestor stream ends: SPIRE's cancel ends it quietly, the plugin's own shutdown
 * answers Unavailable (so the agent retries), and any other failure carries its own gRPC code,
 * or Internal for a bug.
 */
import { PassThrough } from "node:stream";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Code, isPluginError, permissionDenied } from "../common/errors";
import { recordingLogger } from "../testkit/recording";
import { openStreamCall } from "./stream-call";

/** An object-mode stream with grpc-js's `cancelled` flag, in place of the server call. */
function call(): PassThrough & { cancelled: boolean; errors: { code?: number; details?: string }[] } {
  const stream = Object.assign(new PassThrough({ objectMode: true }), {
    cancelled: false,
    errors: [] as { code?: number; details?: string }[],
  });
  stream.on("error", (err: { code?: number; details?: string }) => stream.errors.push(err));
  return stream;
}

function open(c: ReturnType<typeof call>, shutdown: AbortSignal) {
  const logger = recordingLogger();
  const stream = openStreamCall(
    c as unknown as ServerDuplexStream<string, string>,
    "Attest",
    logger,
    shutdown,
  );
  return { stream, logger };
}

const codeOf = (reason: unknown): Code | undefined => (isPluginError(reason) ? reason.code : undefined);

describe("openStreamCall", () => {
  it("treats SPIRE's cancel as the normal end: Cancelled reason, no error status", () => {
    const c = call();
    const { stream } = open(c, new AbortController().signal);
    c.cancelled = true;
    c.emit("cancelled");
    expect(codeOf(stream.signal.reason)).toBe(Code.Cancelled);
    stream.fail(stream.signal.reason);
    expect(c.errors).toEqual([]);
  });

  it("answers Unavailable when the plugin shuts down under a live call", () => {
    const c = call();
    const shutdown = new AbortController();
    const { stream } = open(c, shutdown.signal);
    shutdown.abort();
    expect(codeOf(stream.signal.reason)).toBe(Code.Unavailable);
    stream.fail(stream.signal.reason);
    expect(c.errors).toMatchObject([{ code: Code.Unavailable, details: "plugin is shutting down" }]);
  });

  it("ends a failed call with the failure's code, and a non-PluginError as Internal", () => {
    const denied = call();
    open(denied, new AbortController().signal).stream.fail(permissionDenied("not you"));
    expect(denied.errors).toMatchObject([{ code: Code.PermissionDenied, details: "not you" }]);

    const bug = call();
    const { stream, logger } = open(bug, new AbortController().signal);
    stream.fail(new TypeError("x is undefined"));
    expect(bug.errors).toMatchObject([
      { code: Code.Internal, details: "internal error in Attest; see the plugin log" },
    ]);
    expect(logger.lines.some((l) => l.level === "error")).toBe(true);
  });

  it("stops following the shutdown signal once disposed", () => {
    const c = call();
    const shutdown = new AbortController();
    const { stream } = open(c, shutdown.signal);
    stream.dispose();
    shutdown.abort();
    expect(stream.signal.aborted).toBe(false);
  });
});
