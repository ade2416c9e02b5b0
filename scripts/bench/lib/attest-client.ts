/**
 * Attest RPCs straight to a plugin started by SpireHost, on a connection of our own that is
 * replaced every `streamsPerConnection` attestations.
 *
 * Why not one connection, like SPIRE: SPIRE's client never half-closes an Attest stream, so
 * each attestation ends with an RST_STREAM from the client, and Node's HTTP/2 server
 * (nghttp2's Rapid Reset guard: burst 1,000, refill 33/s, not configurable on Node 20) tears
 * the connection down once the bucket is empty. Long runs therefore rotate connections; the
 * attest-storm scenario stays on SpireHost's single connection, as SPIRE would.
 */
import * as grpc from "@grpc/grpc-js";
import {
  type AttestResponse,
  NodeAttestorClient,
} from "../../../src/gen/spire/plugin/server/nodeattestor/v1/nodeattestor";
import type { SpireHost } from "../../../src/testkit/spire-host";

export type AttestResult = { ok: true; spiffeId: string } | { ok: false; code: number; details: string };

export class RotatingAttestClient {
  private client: NodeAttestorClient | undefined;
  private readonly retired: NodeAttestorClient[] = [];
  private used = 0;
  private connections = 0;

  constructor(
    private readonly host: SpireHost,
    private readonly streamsPerConnection = 900,
  ) {}

  get connectionsOpened(): number {
    return this.connections;
  }

  attest(payload: Uint8Array): Promise<AttestResult> {
    const client = this.current();
    const call = client.attest();
    return new Promise<AttestResult>((resolve) => {
      let settled = false;
      const settle = (r: AttestResult): void => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      call.on("data", (res: AttestResponse) => {
        const r = res.response;
        if (r?.$case === "agentAttributes") settle({ ok: true, spiffeId: r.value.spiffeId });
        else settle({ ok: false, code: grpc.status.INTERNAL, details: "unexpected response" });
        // What SPIRE does once it has the attributes.
        call.cancel();
      });
      call.on("error", (err: grpc.ServiceError) =>
        settle({ ok: false, code: err.code, details: err.details }),
      );
      call.on("end", () => settle({ ok: false, code: grpc.status.INTERNAL, details: "stream ended" }));
      call.write({ request: { $case: "payload", value: Buffer.from(payload) } });
    });
  }

  close(): void {
    for (const c of this.retired) c.close();
    this.retired.length = 0;
    this.client?.close();
    this.client = undefined;
  }

  private current(): NodeAttestorClient {
    if (this.client === undefined || this.used >= this.streamsPerConnection) {
      // Retired clients stay open until close(): closing one can fail calls it has created
      // but not yet started. A local subchannel pool forces a new connection.
      if (this.client !== undefined) this.retired.push(this.client);
      this.client = new NodeAttestorClient(
        `unix://${this.host.handshake.socketPath}`,
        grpc.credentials.createInsecure(),
        { "grpc.use_local_subchannel_pool": 1 },
      );
      this.used = 0;
      this.connections += 1;
    }
    this.used += 1;
    return this.client;
  }
}
