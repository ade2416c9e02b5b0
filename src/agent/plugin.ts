/**
 * The agent attestor: one IMDS read per attestation, sent as the payload, no challenge.
 *
 * SPIRE's agent opens AidAttestation and waits for our payload; the framework
 * (spire/agent-attestor-service.ts) sends what `payload()` returns and ends the call when SPIRE
 * cancels it, which aborts the signal passed here and with it every IMDS request in flight.
 * Nothing heavy is imported: the agent side needs neither the AWS SDK nor the CMS code.
 */
import { failedPrecondition } from "../common/errors";
import { ConfigurationError } from "../hcl/schema";
import { encodeAttestationPayload } from "../iid/payload";
import { type AgentRuntime, agentPluginShell } from "../spire/agent-plugin-shell";
import type { AgentAttestorPlugin, AgentPluginFactory, PluginEnvironment } from "../spire/contracts";
import { prepareAgentConfig } from "./config";
import { ImdsClient, type ImdsEnv } from "./imds-client";

export interface AgentPluginOptions {
  /** The environment IMDS settings are read from; process.env unless a test says otherwise. */
  processEnv?: ImdsEnv;
}

/** The aws_iid agent method on the shared agent shell. */
export function createAgentPluginWith(
  env: PluginEnvironment,
  options: AgentPluginOptions = {},
): AgentAttestorPlugin {
  const processEnv = options.processEnv ?? process.env;
  return agentPluginShell(env, {
    build(_core, hcl): AgentRuntime {
      const parsed = prepareAgentConfig(hcl, processEnv);
      if (parsed.config === undefined) throw new ConfigurationError(parsed.problems);
      const config = parsed.config;
      // prepareAgentConfig has checked the environment's IMDS settings the client reads.
      const client = new ImdsClient({
        endpoint: config.ec2MetadataEndpoint,
        timeoutMs: Math.max(1, config.imdsTimeout.ms),
        // imds_retries counts retries; the first attempt comes on top.
        maxAttempts: config.imdsRetries + 1,
        disableV1Fallback: config.disableImdsv1Fallback,
        env: processEnv,
        logger: env.logger,
      });
      return {
        logLevel: config.logLevel,
        notes: client.clientDisabled
          ? ["AWS_EC2_METADATA_DISABLED=true is set: every attestation will fail until it is unset"]
          : [],
        summary: {
          imds_endpoint: client.endpoint.baseUrl,
          imds_endpoint_source: client.endpoint.source,
          imds_timeout: config.imdsTimeout.text,
          imds_retries: config.imdsRetries,
          imdsv1_fallback: !client.v1FallbackDisabled,
        },
        async payload(signal) {
          const identity = await client.fetchInstanceIdentity(signal);
          env.logger.debug("Read the instance identity from IMDS", {
            imds_version: identity.imdsVersion,
            document_bytes: identity.document.byteLength,
          });
          return encodeAttestationPayload(identity);
        },
        async respondToChallenge() {
          throw failedPrecondition(
            "aws_iid attestation has no challenge step, but the server sent a challenge: the agent's and the server's NodeAttestor with this name must both be aws_iid",
          );
        },
        close: () => client.close(),
      };
    },
  });
}

export const createAgentPlugin: AgentPluginFactory = (env) => createAgentPluginWith(env);
