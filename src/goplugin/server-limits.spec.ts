import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { raiseStreamResetLimit, STREAM_RESET_BURST, STREAM_RESET_RATE } from "./server";

describe("HTTP/2 stream-reset limit", () => {
  it("reaches the options grpc-js passes to http2.createServer (fails if a grpc-js upgrade renames them)", () => {
    const server = new grpc.Server();
    raiseStreamResetLimit(server);
    const options = (server as unknown as { commonServerOptions?: Record<string, unknown> })
      .commonServerOptions;
    expect(options).toMatchObject({
      streamResetBurst: STREAM_RESET_BURST,
      streamResetRate: STREAM_RESET_RATE,
    });
  });
});
