/**
 * spire.plugin.agent.nodeattestor.v1.NodeAttestor/AidAttestation, as SPIRE agent drives it
 * (pkg/agent/plugin/nodeattestor/v1.go): it opens the stream and sends nothing, so the
 * payload goes out unprompted; each Challenge gets exactly one challenge_response; when the
 * server is done the agent cancels the call (no half-close), which ends ours quietly.
 */
import type * as grpc from "@grpc/grpc-js";
import { internal } from "../common/errors";
import type { Logger } from "../common/logger";
import { throwIfAborted } from "../common/signals";
import type {
  Challenge,
  NodeAttestorServer,
  PayloadOrChallengeResponse,
} from "../gen/spire/plugin/agent/nodeattestor/v1/nodeattestor";
import type { PluginSides } from "./plugin-sides";
import { openStreamCall } from "./stream-call";

type AidCall = grpc.ServerDuplexStream<Challenge, PayloadOrChallengeResponse>;

export function agentAttestorService(
  sides: PluginSides,
  logger: Logger,
  shutdownSignal: AbortSignal,
): NodeAttestorServer {
  return {
    aidAttestation(call: AidCall): void {
      void handleAidAttestation(call, sides, logger, shutdownSignal);
    },
  };
}

async function handleAidAttestation(
  call: AidCall,
  sides: PluginSides,
  logger: Logger,
  shutdownSignal: AbortSignal,
): Promise<void> {
  const stream = openStreamCall(call, "AidAttestation", logger, shutdownSignal);
  const { signal, reader } = stream;
  try {
    const plugin = await sides.agentRuntime().configuredPlugin();
    const payload = await plugin.payload(signal);
    throwIfAborted(signal);
    // SPIRE would say "plugin response missing attestation payload".
    if (payload.length === 0) throw internal("attestor produced an empty payload");
    await stream.write({ data: { $case: "payload", value: Buffer.from(payload) } });
    for (;;) {
      const msg = await reader.next();
      if (msg === undefined) {
        throwIfAborted(signal);
        call.end();
        return;
      }
      const response = await plugin.respondToChallenge(msg.challenge, signal);
      throwIfAborted(signal);
      if (response.length === 0) throw internal("attestor produced an empty challenge response");
      await stream.write({ data: { $case: "challengeResponse", value: Buffer.from(response) } });
    }
  } catch (err) {
    stream.fail(err);
  } finally {
    stream.dispose();
  }
}
