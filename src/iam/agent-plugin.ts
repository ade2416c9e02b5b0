/**
 * Agent side of aws_iam (plugin_args ["agent-iam"], SPIRE plugin name "aws_iam").
 *
 * payload: a JSON hello. challenge: sign GetCallerIdentity for the configured STS host with
 * the ambient AWS credentials (the SDK's default provider chain: environment, SSO/profile,
 * web identity for EKS IRSA, container credentials for ECS/Fargate and EKS Pod Identity,
 * IMDS for EC2 instance roles) and hand the signed request back. The agent never calls STS.
 */
import { describeError, invalidArgument, PluginError, unavailable } from "../common/errors";
import { raceSignal, startDeadline } from "../common/signals";
import { type AgentRuntime, agentPluginShell } from "../spire/agent-plugin-shell";
import type { AgentAttestorPlugin, AgentPluginFactory, PluginEnvironment } from "../spire/contracts";
import { decodeIamAgentConfig } from "./config";
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
  createIamAgentPluginWith(env, {});

/** The aws_iam agent method on the shared agent shell. */
export function createIamAgentPluginWith(
  env: PluginEnvironment,
  options: IamAgentPluginOptions,
): AgentAttestorPlugin {
  return agentPluginShell(env, {
    build(_core, hcl): AgentRuntime {
      const config = decodeIamAgentConfig(hcl, options.env ?? process.env);
      // A new chain per configuration; the SDK chain memoizes and refreshes before expiry itself.
      let credentials = options.credentials;
      return {
        logLevel: config.logLevel,
        notes: [`signs for STS host ${config.endpoint.host}`],
        summary: { sts_host: config.endpoint.host },
        async payload() {
          return encodeHello({
            method: IAM_METHOD,
            version: IAM_WIRE_VERSION,
            region: config.endpoint.signingRegion,
          });
        },
        async respondToChallenge(challenge, signal) {
          if (challenge.length !== CHALLENGE_BYTES) {
            throw invalidArgument(
              `expected a ${CHALLENGE_BYTES}-byte challenge, got ${challenge.length} bytes`,
            );
          }
          credentials ??= await defaultCredentialChain();
          const resolved = await resolveCredentials(credentials, signal);
          const signed = await signGetCallerIdentity({
            endpoint: config.endpoint,
            credentials: resolved,
            challenge,
            serverId: config.serverIdHeaderValue,
            ...(options.now === undefined ? {} : { signingDate: options.now() }),
          });
          env.logger.debug("signed sts:GetCallerIdentity for the server's challenge", {
            sts_host: config.endpoint.host,
            access_key_id: resolved.accessKeyId,
          });
          return encodeSignedRequest(signed);
        },
        close: () => {},
      };
    },
  });
}

/** Lazy: the provider chain pulls in much of the SDK; load it only when a challenge arrives. */
async function defaultCredentialChain(): Promise<CredentialSource> {
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  const chain = fromNodeProviderChain({ timeout: 5_000, maxRetries: 1 });
  return () => chain();
}

async function resolveCredentials(source: CredentialSource, signal: AbortSignal): Promise<AwsCredentials> {
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
