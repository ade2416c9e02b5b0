/**
 * spire.plugin.server.nodeattestor.v1.NodeAttestor/Attest, as SPIRE server drives it
 * (pkg/server/plugin/nodeattestor/v1.go): it sends the payload, answers each challenge with
 * a challenge_response, and on agent_attributes stops reading and cancels the call. It never
 * half-closes, so we finish the call ourselves (OK) right after agent_attributes; a
 * CANCELLED seen afterwards is normal. One stream carries one attestation.
 *
 * Admission before work: the payload's size and shape are checked by the plugin
 * (checkPayload) before the stream is admitted (attest-limiter.ts: slots, bytes, per-address
 * bound), and while the stream waits for the agent's challenge answer it holds no slot.
 */
import type * as grpc from "@grpc/grpc-js";
import { internal, invalidArgument } from "../common/errors";
import type { Logger } from "../common/logger";
import { throwIfAborted } from "../common/signals";
import type {
  AttestRequest,
  AttestResponse,
  NodeAttestorServer,
} from "../gen/spire/plugin/server/nodeattestor/v1/nodeattestor";
import { type Admission, AttestLimiter } from "./attest-limiter";
import type { AttestMetadata, AttestRequestContext } from "./contracts";
import type { PluginSides } from "./plugin-sides";
import { openStreamCall } from "./stream-call";

function firstValue(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  const s = typeof v === "string" ? v : v === undefined ? undefined : v.toString("utf8");
  return s === undefined || s === "" ? undefined : s;
}

/** SPIRE >= 1.13.3 / 1.15.2 forward these with every Attest stream. */
export function attestMetadata(metadata: grpc.Metadata): AttestMetadata {
  return {
    forwardedClientIp: firstValue(metadata, "x-forwarded-client-ip"),
    untrustedForwardedHost: firstValue(metadata, "x-untrusted-forwarded-host"),
  };
}

type AttestCall = grpc.ServerDuplexStream<AttestRequest, AttestResponse>;

export function serverAttestorService(
  sides: PluginSides,
  logger: Logger,
  shutdownSignal: AbortSignal,
  limiter: AttestLimiter = new AttestLimiter(),
): NodeAttestorServer {
  return {
    attest(call: AttestCall): void {
      void handleAttest(call, sides, logger, shutdownSignal, limiter);
    },
  };
}

async function handleAttest(
  call: AttestCall,
  sides: PluginSides,
  logger: Logger,
  shutdownSignal: AbortSignal,
  limiter: AttestLimiter,
): Promise<void> {
  let admission: Admission | undefined;
  const stream = openStreamCall(call, "Attest", logger, shutdownSignal);
  const { signal, reader } = stream;
  try {
    const plugin = await sides.serverRuntime().configuredPlugin();
    const first = await reader.next();
    if (first === undefined) {
      throwIfAborted(signal);
      throw invalidArgument("stream closed before the attestation payload");
    }
    if (first.request?.$case !== "payload") throw invalidArgument("expected the attestation payload first");
    if (first.request.value.length === 0) throw invalidArgument("missing attestation payload");
    const payload = first.request.value;
    const metadata = attestMetadata(call.metadata);
    // Size and shape first: a malformed or oversized payload is refused before it holds
    // anything. The expensive work (CMS, AWS) below runs within the admission bounds.
    plugin.checkPayload(payload);
    limiter.setLimits(plugin.admissionLimits());
    admission = await limiter.admit(signal, {
      bytes: payload.length,
      source: metadata.forwardedClientIp,
    });
    const admitted = admission;

    let challengeInFlight = false;
    let finished = false;
    const ctx: AttestRequestContext = {
      payload,
      metadata,
      signal,
      challenge: async (data: Uint8Array): Promise<Uint8Array> => {
        if (finished) throw internal("challenge issued after the attestation finished");
        if (challengeInFlight) throw internal("a challenge is already in flight on this stream");
        throwIfAborted(signal);
        challengeInFlight = true;
        try {
          // Waiting on the agent costs no slot: a silent agent must not keep others out.
          admitted.suspend();
          await stream.write({ response: { $case: "challenge", value: Buffer.from(data) } });
          const reply = await reader.next();
          if (reply === undefined) {
            throwIfAborted(signal);
            throw invalidArgument("stream ended before the challenge response");
          }
          if (reply.request?.$case !== "challengeResponse") {
            throw invalidArgument("expected a challenge response");
          }
          admitted.hold(reply.request.value.length);
          await admitted.resume(signal);
          return reply.request.value;
        } finally {
          challengeInFlight = false;
        }
      },
    };

    const attrs = await plugin.attest(ctx);
    finished = true;
    throwIfAborted(signal);
    // SPIRE would answer "plugin response missing agent ID"; say it here, where the bug is.
    if (attrs.spiffeId === "") throw internal("attestor produced an empty agent ID");
    await stream.write({
      response: {
        $case: "agentAttributes",
        value: {
          spiffeId: attrs.spiffeId,
          selectorValues: [...attrs.selectorValues],
          canReattest: attrs.canReattest,
        },
      },
    });
    call.end();
  } catch (err) {
    stream.fail(err);
  } finally {
    admission?.release();
    stream.dispose();
  }
}
