/**
 * The agent attestor: one IMDS read per attestation, sent as the payload, no challenge.
 *
 * SPIRE's agent opens AidAttestation and waits for our payload; the framework
 * (spire/agent-attestor-service.ts) sends what `payload()` returns and ends the call when SPIRE
 * cancels it, which aborts the signal passed here and with it every IMDS request in flight.
 * Nothing heavy is imported: the agent side needs neither the AWS SDK nor the CMS code.
 */
import { failedPrecondition, invalidArgument } from "../common/errors";
import { encodeAttestationPayload } from "../iid/payload";
import { formatProblems } from "../server/config";
import type {
  AgentAttestorPlugin,
  AgentPluginFactory,
  CoreConfig,
  PluginEnvironment,
  ValidateResult,
} from "../spire/contracts";
import { type AgentConfig, parseAgentConfig } from "./config";
import { ImdsClient, type ImdsEnv } from "./imds-client";

export interface AgentPluginOptions {
  /** The environment IMDS settings are read from; process.env unless a test says otherwise. */
  processEnv?: ImdsEnv;
}

interface Built {
  config: AgentConfig;
  client: ImdsClient;
}

export class AwsIidAgentPlugin implements AgentAttestorPlugin {
  private active: Built | undefined;
  private readonly processEnv: ImdsEnv;

  constructor(
    private readonly env: PluginEnvironment,
    options: AgentPluginOptions = {},
  ) {
    this.processEnv = options.processEnv ?? process.env;
  }

  /** Parses the HCL and resolves the environment; throws InvalidArgument naming every problem. */
  private build(hcl: string): Built {
    const parsed = parseAgentConfig(hcl);
    if (parsed.config === undefined) {
      throw invalidArgument(formatProblems(parsed.problems).join("; ") || "invalid configuration");
    }
    const config = parsed.config;
    const client = new ImdsClient({
      endpoint: config.ec2MetadataEndpoint,
      timeoutMs: Math.max(1, config.imdsTimeout.ms),
      // imds_retries counts retries; the first attempt comes on top.
      maxAttempts: config.imdsRetries + 1,
      disableV1Fallback: config.disableImdsv1Fallback,
      env: this.processEnv,
      logger: this.env.logger,
    });
    return { config, client };
  }

  async configure(_core: CoreConfig, hcl: string): Promise<void> {
    // Built fully before anything changes, so a failed reconfigure leaves the old one in force.
    const next = this.build(hcl);
    this.env.setLogLevel(next.config.logLevel);
    // The previous client is not closed: an attestation in flight may still be using it, and
    // its requests are bounded by their own deadlines.
    this.active = next;
    this.env.logger.debug("Configured", {
      imds_endpoint: next.client.endpoint.baseUrl,
      imds_endpoint_source: next.client.endpoint.source,
      imds_timeout: next.config.imdsTimeout.text,
      imds_retries: next.config.imdsRetries,
      imdsv1_fallback: !next.client.v1FallbackDisabled,
    });
  }

  async validate(_core: CoreConfig, hcl: string): Promise<ValidateResult> {
    const parsed = parseAgentConfig(hcl);
    if (parsed.config === undefined) return { valid: false, notes: formatProblems(parsed.problems) };
    try {
      const { client } = this.build(hcl);
      const notes: string[] = [];
      if (client.clientDisabled) {
        notes.push("AWS_EC2_METADATA_DISABLED=true is set: every attestation will fail until it is unset");
      }
      return { valid: true, notes };
    } catch (err) {
      return { valid: false, notes: [err instanceof Error ? err.message : String(err)] };
    }
  }

  async payload(signal: AbortSignal): Promise<Uint8Array> {
    const active = this.active;
    if (active === undefined) throw failedPrecondition("not configured");
    const identity = await active.client.fetchInstanceIdentity(signal);
    this.env.logger.debug("Read the instance identity from IMDS", {
      imds_version: identity.imdsVersion,
      document_bytes: identity.document.byteLength,
    });
    return encodeAttestationPayload(identity);
  }

  async respondToChallenge(): Promise<Uint8Array> {
    throw failedPrecondition(
      "aws_iid attestation has no challenge step, but the server sent a challenge: the agent's and the server's NodeAttestor with this name must both be aws_iid",
    );
  }

  async close(): Promise<void> {
    this.active?.client.close();
  }
}

export const createAgentPlugin: AgentPluginFactory = (env) => new AwsIidAgentPlugin(env);
