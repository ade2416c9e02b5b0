/**
 * Bench scenario: the cost of reading a typical aws_iid plugin_data exactly as SPIRE sends it
 * (HCL v1 printer output: aligned `=`, blank lines between items, no trailing newline), from
 * text to a validated ServerConfig, and of the parse step alone. Issue 3's goal: under 50 µs
 * per parse+decode (the GopherJS HCL v1 builds cost about 500 µs).
 */
import { parse } from "../../src/hcl/parser";
import { parseServerConfig } from "../../src/server/config";
import { meanMicros } from "./lib/common";

/** A typical aws_iid plugin_data as SPIRE's HCL v1 printer re-emits it (SPIRE's pkg/common/catalog/config.go), plus common keys. */
export const TYPICAL_PLUGIN_DATA = [
  "# role assumed in each node's account",
  'assume_role = "spire-role"',
  "",
  'account_ids_for_local_validation = ["111122223333", "444455556666"]',
  "",
  "verify_organization = {",
  '  management_account_id     = "123456789012"',
  '  assume_org_role           = "spire-org"',
  '  management_account_region = "us-west-2"',
  '  org_account_map_ttl       = "10m"',
  "}",
  "",
  "skip_block_device = true",
  "",
  'agent_path_template = "/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}"',
  "",
  'allowed_regions = ["us-east-1", "us-west-2", "eu-west-1"]',
].join("\n");

export async function run(): Promise<{ name: string; [k: string]: unknown }> {
  const check = parseServerConfig(TYPICAL_PLUGIN_DATA);
  if (check.config === undefined)
    throw new Error(`bench input is invalid: ${JSON.stringify(check.problems)}`);
  const parseOnly = meanMicros(() => parse(TYPICAL_PLUGIN_DATA), 1500);
  const full = meanMicros(() => parseServerConfig(TYPICAL_PLUGIN_DATA), 1500);
  return {
    name: "hcl-plugin-data",
    description: `parse, and parse + typed decode + validation, of a ${TYPICAL_PLUGIN_DATA.length}-byte aws_iid plugin_data as SPIRE prints it; mean over >=1.5 s after warm-up`,
    metrics: {
      parse_us: Number(parseOnly.us.toFixed(2)),
      parse_decode_us: Number(full.us.toFixed(2)),
      parse_decode_ops_per_s: Math.round(full.opsPerSec),
    },
    bytes: TYPICAL_PLUGIN_DATA.length,
    runs: full.iterations,
  };
}
