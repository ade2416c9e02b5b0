/**
 * What every agent attestor (aws_iid, aws_iam) does around its own payload and challenge logic:
 * Configure builds a complete runtime before anything changes (a failed reconfigure leaves the
 * old one in force) and sets the log level; Validate builds one and throws it away; calls before
 * Configure answer FailedPrecondition "not configured".
 *
 * A replaced runtime is not closed: an attestation in flight may still be using it, and its
 * requests are bounded by their own deadlines. The last one is closed with the plugin.
 */
import { describeError, failedPrecondition } from "../common/errors";
import type { LogFields, LogLevel } from "../common/logger";
import type { AgentAttestorPlugin, CoreConfig, PluginEnvironment, ValidateResult } from "./contracts";

export interface AgentRuntime {
  readonly logLevel: LogLevel;
  /** Operator notes returned by Validate. */
  readonly notes: readonly string[];
  /** Fields of the DEBUG "Configured" line. */
  readonly summary: LogFields;
  payload(signal: AbortSignal): Promise<Uint8Array>;
  respondToChallenge(challenge: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  close(): void;
}

export interface AgentMethod {
  /** A complete runtime or a PluginError (InvalidArgument naming every problem); no side effect. */
  build(core: CoreConfig, hcl: string): AgentRuntime;
}

export function agentPluginShell(env: PluginEnvironment, method: AgentMethod): AgentAttestorPlugin {
  let active: AgentRuntime | undefined;
  const configured = (): AgentRuntime => {
    if (active === undefined) throw failedPrecondition("not configured");
    return active;
  };
  return {
    async configure(core: CoreConfig, hcl: string): Promise<void> {
      const next = method.build(core, hcl);
      env.setLogLevel(next.logLevel);
      active = next;
      env.logger.debug("Configured", { ...next.summary });
    },
    async validate(core: CoreConfig, hcl: string): Promise<ValidateResult> {
      try {
        const runtime = method.build(core, hcl);
        runtime.close();
        return { valid: true, notes: [...runtime.notes] };
      } catch (err) {
        // One note per line: "invalid configuration:" and one per problem (hcl/schema.ts).
        return { valid: false, notes: describeError(err).split("\n") };
      }
    },
    payload: async (signal) => configured().payload(signal),
    respondToChallenge: async (challenge, signal) => configured().respondToChallenge(challenge, signal),
    async close(): Promise<void> {
      active?.close();
      active = undefined;
    },
  };
}
