/**
 * What both NodeAttestor streams (server Attest, agent AidAttestation) share: an AbortSignal
 * that fires when SPIRE cancels the call or the plugin shuts down, a reader for incoming
 * messages, promise-based writes, and the rule for ending a failed call. SPIRE never
 * half-closes these streams; it cancels them, so cancellation is the normal way they end.
 */
import type * as grpc from "@grpc/grpc-js";
import { Code, unavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import { cancelled } from "../common/signals";
import { statusFor, toServiceError } from "./grpc-status";
import { MessageReader } from "./message-reader";

export interface StreamCall<Req, Res> {
  readonly signal: AbortSignal;
  readonly reader: MessageReader<Req>;
  write(msg: Res): Promise<void>;
  /** Ends the call for `err`: quietly when SPIRE cancelled, Unavailable on our shutdown, else its status. */
  fail(err: unknown): void;
  /** Detaches from the shutdown signal; call once the handler is done. */
  dispose(): void;
}

export function openStreamCall<Req, Res>(
  call: grpc.ServerDuplexStream<Req, Res>,
  rpc: string,
  logger: Logger,
  shutdownSignal: AbortSignal,
): StreamCall<Req, Res> {
  // The reason says who ended the call; work below rethrows it (common/signals.ts).
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort(cancelled()));
  const abort = (): void => controller.abort(unavailable("plugin is shutting down"));
  // Errors surface through the reader and writes; an unhandled 'error' event would crash Node.
  call.on("error", () => {});
  shutdownSignal.addEventListener("abort", abort, { once: true });
  const signal = controller.signal;
  return {
    signal,
    reader: new MessageReader<Req>(call, signal),
    write: (msg) =>
      new Promise((resolve, reject) => {
        call.write(msg, (err: Error | null | undefined) => (err ? reject(err) : resolve()));
      }),
    fail(err) {
      if (signal.aborted) {
        // Our own shutdown (not SPIRE's cancel): tell the caller so it can retry elsewhere.
        if (shutdownSignal.aborted && !call.cancelled) {
          call.emit("error", statusFor(Code.Unavailable, "plugin is shutting down"));
          return;
        }
        logger.debug(`${rpc} ended by cancellation`);
        return;
      }
      call.emit("error", toServiceError(err, logger, rpc));
    },
    dispose() {
      shutdownSignal.removeEventListener("abort", abort);
    },
  };
}
