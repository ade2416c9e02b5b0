/**
 * The server attestor in-process, wired to a scenario's loopback AWS: what the pipeline specs
 * (src/server, test/parity, test/faults) drive without gRPC or processes.
 */

import type { AwsAccessOptions } from "../aws";
import { type Logger, silentLogger } from "../common/logger";
import { noopMetrics } from "../common/metrics";
import { createServerPluginWith } from "../server/plugin";
import type {
  AgentStore,
  AttestRequestContext,
  PluginEnvironment,
  ServerAttestorPlugin,
} from "../spire/contracts";
import type { Scenario } from "./scenario";

export interface InProcessServerOptions {
  /** SPIRE's AgentStore; `null` for a host that does not offer it. Default: nobody attested yet. */
  agentStore?: AgentStore | null;
  logger?: Logger;
  /** How long a refused AssumeRole is remembered (src/aws/credentials.ts); default 30 s. */
  assumeRoleFailureTtlMs?: number;
  /** AWS access settings over the test defaults (e.g. the production not-found retries). */
  aws?: Partial<AwsAccessOptions>;
}

export function inProcessServerPlugin(
  scenario: Scenario,
  options: InProcessServerOptions = {},
): ServerAttestorPlugin {
  const agentStore =
    options.agentStore === null ? undefined : (options.agentStore ?? { agentExists: async () => false });
  const env: PluginEnvironment = {
    logger: options.logger ?? silentLogger,
    hostServices: { agentStore, metrics: noopMetrics },
    setLogLevel: () => {},
  };
  return createServerPluginWith(env, {
    // No retries of "not found": a test's instance either exists or it does not.
    aws: {
      endpoint: scenario.aws.url,
      instanceNotFoundRetries: 0,
      ...(options.assumeRoleFailureTtlMs === undefined
        ? {}
        : { assumeRoleFailureTtlMs: options.assumeRoleFailureTtlMs }),
      ...options.aws,
    },
    org: { endpoint: scenario.aws.url },
    // Keep the developer's AWS_* variables out of the plugin under test.
    env: {},
  });
}

/**
 * A plugin configured with `hcl` (the scenario's plugin data by default) that has attested one
 * fresh node: the AWS SDK modules load on first use, which on a busy machine can outlast a
 * short aws_call_timeout or the window a spec measures.
 */
export async function warmServerPlugin(
  scenario: Scenario,
  options: InProcessServerOptions & { trustDomain: string; hcl?: string },
): Promise<ServerAttestorPlugin> {
  const plugin = inProcessServerPlugin(scenario, options);
  await plugin.configure({ trustDomain: options.trustDomain }, options.hcl ?? scenario.pluginData());
  await plugin.attest(attestContext(scenario.addNode().payload));
  return plugin;
}

/** An Attest call as SPIRE server makes it for aws_iid (no challenge round trip). */
export function attestContext(payload: Uint8Array, forwardedClientIp?: string): AttestRequestContext {
  return {
    payload,
    metadata: { forwardedClientIp, untrustedForwardedHost: undefined },
    challenge: async () => {
      throw new Error("aws_iid never sends a challenge");
    },
    signal: new AbortController().signal,
  };
}
