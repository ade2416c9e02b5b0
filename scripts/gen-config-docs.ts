/**
 * Regenerates the configuration tables in docs/configuration.md from the schemas the plugin
 * decodes plugin_data with (src/server/config.ts, src/agent/config.ts, src/iam/config.ts), so
 * the reference cannot drift from the code: test/config-docs.spec.ts fails when the committed
 * file differs from what this script would write.
 *
 * Usage:
 *   npx tsx scripts/gen-config-docs.ts          # rewrite docs/configuration.md in place
 *   npx tsx scripts/gen-config-docs.ts --check  # exit 1 if it is out of date
 *
 * Only the text between `<!-- BEGIN GENERATED: <name> -->` and `<!-- END GENERATED: <name> -->`
 * is replaced; the prose around the tables is written by hand.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { agentFields } from "../src/agent/config";
import { describeSchema, type FieldSpec, type Fields } from "../src/hcl/schema";
import { iamAgentFields, iamServerFields } from "../src/iam/config";
import { serverFields } from "../src/server/config";

export const CONFIG_DOC_PATH = join(resolve(__dirname, ".."), "docs", "configuration.md");

/**
 * Keys SPIRE's built-in aws_iid accepts (pkg/server/plugin/nodeattestor/awsiid: IIDAttestorConfig,
 * SessionConfig, orgValidationConfig; agent: ec2_metadata_endpoint). Everything else in our
 * schemas is this project's addition, which an operator must not copy back to the built-in:
 * SPIRE ignores unknown keys silently, so the check would simply vanish.
 */
export const SPIRE_AWS_IID_KEYS: ReadonlySet<string> = new Set([
  "access_key_id",
  "secret_access_key",
  "skip_block_device",
  "disable_instance_profile_selectors",
  "account_ids_for_local_validation",
  "agent_path_template",
  "assume_role",
  "partition",
  "verify_organization",
  "verify_organization.management_account_id",
  "verify_organization.assume_org_role",
  "verify_organization.management_account_region",
  "verify_organization.org_account_map_ttl",
  "verify_organization.account_list_file",
  "validate_eks_cluster_membership",
  "validate_eks_cluster_membership.eks_cluster_names",
  "ec2_metadata_endpoint",
]);

interface Table {
  name: string;
  fields: Fields;
  /** How the origin column reads for keys SPIRE's aws_iid also has. */
  spireLabel: string | undefined;
}

const TABLES: readonly Table[] = [
  { name: "server", fields: serverFields, spireLabel: "SPIRE" },
  { name: "agent", fields: agentFields, spireLabel: "SPIRE" },
  // SPIRE has no aws_iam; verify_organization is the aws_iid block, shared verbatim.
  { name: "iam-server", fields: iamServerFields, spireLabel: undefined },
  { name: "iam-agent", fields: iamAgentFields, spireLabel: undefined },
];

function specAt(fields: Fields, dotted: string): FieldSpec | undefined {
  const [head, ...rest] = dotted.split(".");
  const spec = head === undefined ? undefined : fields[head];
  if (spec === undefined || rest.length === 0) return spec;
  return spec.type === "block" || spec.type === "blocks" ? specAt(spec.fields, rest.join(".")) : undefined;
}

function bounds(spec: FieldSpec | undefined): string {
  if (spec === undefined || (spec.type !== "int" && spec.type !== "duration")) return "";
  const parts: string[] = [];
  if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  return parts.length > 0 ? `, ${parts.join(", ")}` : "";
}

/** Table-safe text: `<partition>` would otherwise render as an (invisible) HTML tag. */
function cell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");
}

/** One Markdown table for a schema: key, type, default, meaning, origin. */
export function renderTable(table: Table): string {
  const rows = describeSchema(table.fields).map((d) => {
    const spec = specAt(table.fields, d.key);
    const secret = spec?.type === "string" && spec.secret === true ? " Never logged or echoed." : "";
    const origin =
      table.spireLabel !== undefined && SPIRE_AWS_IID_KEYS.has(d.key) ? table.spireLabel : "**ours**";
    const def = d.default !== undefined ? `\`${d.default}\`` : "—";
    return `| \`${d.key}\` | ${d.type}${bounds(spec)} | ${def} | ${cell(d.doc)}${secret} | ${origin} |`;
  });
  return ["| Key | Type | Default | Meaning | Origin |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** `current` with every generated section replaced by the tables from the schemas. */
export function renderConfigDoc(current: string): string {
  let out = current;
  for (const table of TABLES) {
    const begin = `<!-- BEGIN GENERATED: ${table.name} -->`;
    const end = `<!-- END GENERATED: ${table.name} -->`;
    const b = out.indexOf(begin);
    const e = out.indexOf(end);
    if (b < 0 || e < b) throw new Error(`docs/configuration.md: markers for "${table.name}" missing`);
    out = `${out.slice(0, b + begin.length)}\n${renderTable(table)}\n${out.slice(e)}`;
  }
  return out;
}

if (require.main === module) {
  const current = readFileSync(CONFIG_DOC_PATH, "utf8");
  const next = renderConfigDoc(current);
  if (process.argv.includes("--check")) {
    if (next !== current) {
      process.stderr.write("docs/configuration.md is out of date: run npm run gen:config-docs\n");
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(CONFIG_DOC_PATH, next);
    process.stdout.write(`updated ${CONFIG_DOC_PATH}\n`);
  }
}
