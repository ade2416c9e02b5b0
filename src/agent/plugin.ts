/**
 * Interim agent attestor (issue 2): the framework around it is real, the attestation is not
 * yet. Configure accepts any configuration; AidAttestation answers Unimplemented. Replaced by
 * the agent attestor issue.
 */
import { Code, PluginError } from "../common/errors";
import type { AgentAttestorPlugin, PluginEnvironment, ValidateResult } from "../spire/contracts";

export function createAgentPlugin(env: PluginEnvironment): AgentAttestorPlugin {
  return {
    async configure(): Promise<void> {
      env.logger.debug("Configured (interim agent attestor: attestation not implemented yet)");
    },
    async validate(): Promise<ValidateResult> {
      return { valid: true, notes: ["attestation is not implemented yet in this build"] };
    },
    async payload(): Promise<Uint8Array> {
      throw new PluginError(Code.Unimplemented, "aws_iid agent attestation is not implemented yet");
    },
    async respondToChallenge(): Promise<Uint8Array> {
      throw new PluginError(Code.Unimplemented, "aws_iid agent attestation is not implemented yet");
    },
    async close(): Promise<void> {},
  };
}
