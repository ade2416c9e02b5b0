/**
 * Interim server attestor (issue 2): the framework around it is real, the attestation is
 * not yet. Configure accepts any configuration; Attest answers Unimplemented. Replaced by the
 * server attestor issue.
 */
import { Code, PluginError } from "../common/errors";
import type {
  AgentAttributes,
  AttestRequestContext,
  PluginEnvironment,
  ServerAttestorPlugin,
  ValidateResult,
} from "../spire/contracts";

export function createServerPlugin(env: PluginEnvironment): ServerAttestorPlugin {
  return {
    async configure(): Promise<void> {
      env.logger.debug("Configured (interim server attestor: attestation not implemented yet)");
    },
    async validate(): Promise<ValidateResult> {
      return { valid: true, notes: ["attestation is not implemented yet in this build"] };
    },
    async attest(_ctx: AttestRequestContext): Promise<AgentAttributes> {
      throw new PluginError(Code.Unimplemented, "aws_iid server attestation is not implemented yet");
    },
    async close(): Promise<void> {},
  };
}
