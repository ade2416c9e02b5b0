/**
 * spire.plugin.agent.nodeattestor.v1.NodeAttestor/AidAttestation, as SPIRE agent drives it
 * (pkg/agent/plugin/nodeattestor/v1.go): it opens the stream and sends nothing, so the
 * payload goes out unprompted; each Challenge gets exactly one challenge_response; when the
 * server is done the agent cancels the call (no half-close), which ends ours quietly.
 */
import type * as grpc from "@grpc/grpc-js";
import { Code, internal, PluginError } from "../common/errors";
import type { Logger } from "../common/logger";
import type {
  Challenge,
  NodeAttestorServer,
  PayloadOrChallengeResponse,
} from "../gen/spire/plugin/agent/nodeattestor/v1/nodeattestor";
import type { AgentAttestorPlugin } from "./contracts";
import { statusFor, toServiceError } from "./grpc-status";
import { MessageReader } from "./message-reader";
import type { PluginRuntime } from "./plugin-runtime";

const cancelled = (): PluginError => new PluginError(Code.Cancelled, "attestation cancelled");

type AidCall = grpc.ServerDuplexStream<Challenge, PayloadOrChallengeResponse>;

function write(call: AidCall, msg: PayloadOrChallengeResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    call.write(msg, (err: Error | null | undefined) => (err ? reject(err) : resolve()));
  });
}

export function agentAttestorService(
  runtime: PluginRuntime<AgentAttestorPlugin>,
  logger: Logger,
  shutdownSignal: AbortSignal,
): NodeAttestorServer {
  return {
    aidAttestation(call: AidCall): void {
      void handleAidAttestation(call, runtime, logger, shutdownSignal);
    },
  };
}

async function handleAidAttestation(
  call: AidCall,
  runtime: PluginRuntime<AgentAttestorPlugin>,
  logger: Logger,
  shutdownSignal: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.on("cancelled", abort);
  call.on("error", () => {});
  shutdownSignal.addEventListener("abort", abort, { once: true });
  const signal = controller.signal;
  const reader = new MessageReader<Challenge>(call, signal);
  try {
    const plugin = await runtime.configuredPlugin();
    const payload = await plugin.payload(signal);
    if (signal.aborted) throw cancelled();
    // SPIRE would say "plugin response missing attestation payload".
    if (payload.length === 0) throw internal("attestor produced an empty payload");
    await write(call, { data: { $case: "payload", value: Buffer.from(payload) } });
    for (;;) {
      const msg = await reader.next();
      if (msg === undefined) {
        if (signal.aborted) throw cancelled();
        call.end();
        return;
      }
      const response = await plugin.respondToChallenge(msg.challenge, signal);
      if (signal.aborted) throw cancelled();
      if (response.length === 0) throw internal("attestor produced an empty challenge response");
      await write(call, { data: { $case: "challengeResponse", value: Buffer.from(response) } });
    }
  } catch (err) {
    if (signal.aborted) {
      // Our own shutdown (not SPIRE's cancel): tell the caller so it can retry elsewhere.
      if (shutdownSignal.aborted && !call.cancelled) {
        call.emit("error", statusFor(Code.Unavailable, "plugin is shutting down"));
        return;
      }
      logger.debug("AidAttestation ended by cancellation");
      return;
    }
    call.emit("error", toServiceError(err, logger, "AidAttestation"));
  } finally {
    shutdownSignal.removeEventListener("abort", abort);
  }
}
