/**
 * Agent side of aws_iam (plugin_args ["agent-iam"], SPIRE plugin name "aws_iam").
 *
 * payload: a JSON hello. challenge: sign GetCallerIdentity for the configured STS host with
 * the ambient AWS credentials (the SDK's default provider chain: environment, SSO/profile,
 * web identity for EKS IRSA, container credentials for ECS/Fargate and EKS Pod Identity,
 * IMDS for EC2 instance roles) and hand the signed request back. The agent never calls STS.
 */
import {
  describeError,
  failedPrecondition,
  invalidArgument,
  PluginError,
  unavailable,
} from "../common/errors";
import { raceSignal, startDeadline } from "../common/signals";
import type {
  AgentAttestorPlugin,
  AgentPluginFactory,
  CoreConfig,
  PluginEnvironment,
  ValidateResult,
} from "../spire/contracts";
import { decodeIamAgentConfig, type IamAgentConfig } from "./config";
import { type AwsCredentials, signGetCallerIdentity } from "./sign-request";
import { CHALLENGE_BYTES, encodeHello, encodeSignedRequest, IAM_METHOD, IAM_WIRE_VERSION } from "./wire";

/** IMDS and container credential endpoints can hang; the server waits at most a minute overall. */
export const CREDENTIALS_TIMEOUT_MS = 20_000;

export type CredentialSource = () => Promise<AwsCredentials>;

export interface IamAgentPluginOptions {
  env?: NodeJS.ProcessEnv;
  /** Replaces the SDK default provider chain (tests). */
  credentials?: CredentialSource;
  now?: () => Date;
}

export const createIamAgentPlugin: AgentPluginFactory = (env: PluginEnvironment): AgentAttestorPlugin =>
  new IamAgentPlugin(env, {});

export function createIamAgentPluginWith(
  env: PluginEnvironment,
  options: IamAgentPluginOptions,
): AgentAttestorPlugin {
  return new IamAgentPlugin(env, options);
}

class IamAgentPlugin implements AgentAttestorPlugin {
  private config: IamAgentConfig | undefined;
  private credentials: CredentialSource | undefined;

  constructor(
    private readonly env: PluginEnvironment,
    private readonly options: IamAgentPluginOptions,
  ) {}

  async configure(_core: CoreConfig, hcl: string): Promise<void> {
    const config = decodeIamAgentConfig(hcl, this.options.env ?? process.env);
    this.env.setLogLevel(config.logLevel);
    this.config = config;
    // A new chain per configuration; the SDK chain memoizes and refreshes before expiry itself.
    this.credentials = this.options.credentials ?? undefined;
  }

  async validate(_core: CoreConfig, hcl: string): Promise<ValidateResult> {
    try {
      const c = decodeIamAgentConfig(hcl, this.options.env ?? process.env);
      return { valid: true, notes: [`signs for STS host ${c.endpoint.host}`] };
    } catch (err) {
      return { valid: false, notes: [describeError(err)] };
    }
  }

  async close(): Promise<void> {
    this.config = undefined;
    this.credentials = undefined;
  }

  async payload(_signal: AbortSignal): Promise<Uint8Array> {
    const config = this.requireConfig();
    return encodeHello({
      method: IAM_METHOD,
      version: IAM_WIRE_VERSION,
      region: config.endpoint.signingRegion,
    });
  }

  async respondToChallenge(challenge: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const config = this.requireConfig();
    if (challenge.length !== CHALLENGE_BYTES) {
      throw invalidArgument(`expected a ${CHALLENGE_BYTES}-byte challenge, got ${challenge.length} bytes`);
    }
    const credentials = await this.resolveCredentials(signal);
    const signed = await signGetCallerIdentity({
      endpoint: config.endpoint,
      credentials,
      challenge,
      serverId: config.serverIdHeaderValue,
      ...(this.options.now === undefined ? {} : { signingDate: this.options.now() }),
    });
    this.env.logger.debug("signed sts:GetCallerIdentity for the server's challenge", {
      sts_host: config.endpoint.host,
      access_key_id: credentials.accessKeyId,
    });
    return encodeSignedRequest(signed);
  }

  private requireConfig(): IamAgentConfig {
    if (this.config === undefined) throw failedPrecondition("not configured");
    return this.config;
  }

  private async resolveCredentials(signal: AbortSignal): Promise<AwsCredentials> {
    if (this.credentials === undefined) {
      // Lazy: the provider chain pulls in much of the SDK; load it only when a challenge arrives.
      const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
      const chain = fromNodeProviderChain({ timeout: 5_000, maxRetries: 1 });
      this.credentials = () => chain();
    }
    const source = this.credentials;
    // No credentials is usually a setup problem, but IMDS/container endpoints also fail
    // transiently; Unavailable lets the agent retry instead of exiting.
    const deadline = startDeadline(
      CREDENTIALS_TIMEOUT_MS,
      () =>
        unavailable(
          `no AWS credentials from the default provider chain: none within ${CREDENTIALS_TIMEOUT_MS} ms`,
        ),
      signal,
    );
    try {
      return await raceSignal(source(), deadline.signal);
    } catch (err) {
      if (err instanceof PluginError) throw err;
      throw unavailable(`no AWS credentials from the default provider chain: ${describeError(err)}`, err);
    } finally {
      deadline.dispose();
    }
  }
}
