/**
 * Notes for `spire-server validate` and the Configure log line: settings that are valid but
 * leave a door open an operator may not know about. They are hints, not errors or warnings,
 * because each is SPIRE's own default and a drop-in replacement must accept SPIRE's configs as
 * they are, without a WARN on every Configure.
 */
import type { ServerConfig } from "./config";

export function securityNotes(config: ServerConfig): string[] {
  const notes: string[] = [];
  if (!config.requireRsa2048Signature) {
    notes.push(
      "require_rsa2048_signature is off: a payload without the rsa2048 signature is verified with the " +
        "legacy RSA-1024 or DSA certificate instead (SPIRE's behaviour); set it to true once all agents send rsa2048",
    );
  }
  if (config.maxLaunchAge === undefined) {
    notes.push(
      "max_launch_age is not set: an instance identity document never expires, so a copy of one can attest " +
        "whenever its agent ID has not been used yet",
    );
  }
  if (config.skipBlockDevice) {
    notes.push("skip_block_device is on: the root-volume/network-interface attach-time check is disabled");
  }
  return notes;
}
