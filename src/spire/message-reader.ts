/**
 * Pull-style reading of a grpc-js server duplex stream. SPIRE never half-closes its side of
 * Attest/AidAttestation: it cancels the call when done, so "the stream is over" is either an
 * end or a cancellation, and both resolve a pending read with undefined.
 */
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { invalidArgument } from "../common/errors";

/** SPIRE sends one message per turn; more than this queued means a confused or hostile peer. */
const MAX_QUEUED = 8;

export class MessageReader<Req> {
  private readonly queue: Req[] = [];
  private waiter: ((msg: Req | undefined) => void) | undefined;
  private closed = false;
  private overflow = false;

  constructor(call: ServerDuplexStream<Req, unknown>, signal: AbortSignal) {
    call.on("data", (msg: Req) => {
      if (this.waiter !== undefined) {
        const w = this.waiter;
        this.waiter = undefined;
        w(msg);
        return;
      }
      if (this.queue.length >= MAX_QUEUED) {
        this.overflow = true;
        this.close();
        return;
      }
      this.queue.push(msg);
    });
    call.on("end", () => this.close());
    signal.addEventListener("abort", () => this.close(), { once: true });
  }

  private close(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  /** The next message, or undefined once the stream has ended or been cancelled. */
  next(): Promise<Req | undefined> {
    if (this.overflow) return Promise.reject(invalidArgument("too many unexpected messages on the stream"));
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    if (this.waiter !== undefined) return Promise.reject(new Error("concurrent reads on one stream"));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
