/**
 * SPIRE's own Configure cases for aws_iid, replayed against the plugin: every `t.Run` of
 * TestConfigure in spiffe/spire v1.13.3 pkg/server/plugin/nodeattestor/awsiid/iid_test.go (the
 * SPIRE this project builds for test/spire), and the two of the agent's
 * (pkg/agent/plugin/nodeattestor/awsiid/iid_test.go), with the configuration and the outcome
 * SPIRE's test asserts. Each case either behaves as in SPIRE ("=": the same verdict, and SPIRE's words
 * where its test checks them) or differs, and then docs/parity.md must have the row that says
 * so (marked ≠) naming this spec and the case, so a difference cannot hide behind an "=".
 *
 * The plugin runs through Validate, which builds exactly what Configure builds (one function,
 * src/server/configuration.ts) without starting the organization cache.
 */
import { describe, expect, it } from "vitest";
import { createAgentPluginWith } from "../../src/agent/plugin";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { createServerPluginWith } from "../../src/server/plugin";
import { references, rows } from "./parity-table";

const SPEC = "test/parity/spire-configure-replay.spec.ts";

interface SpireCase {
  /** SPIRE's t.Run name, verbatim. */
  name: string;
  trustDomain?: string;
  env?: Record<string, string>;
  config: string;
  /** What SPIRE's test asserts: success, an error, or an error containing this text. */
  spire: "ok" | "error" | { contains: string };
  /** "=" or the claim of the parity.md row (marked ≠) that explains the difference. */
  parity: "=" | RegExp;
}

const CASES: SpireCase[] = [
  { name: "malformed", config: "trust_domain", spire: { contains: "expected start of object" }, parity: "=" },
  {
    name: "missing trust domain",
    trustDomain: "",
    config: "",
    spire: { contains: "server core configuration must contain trust_domain" },
    parity: "=",
  },
  {
    name: "fails with access id but no secret",
    config: 'access_key_id = "ACCESSKEYID"',
    spire: { contains: "configuration missing secret access key, but has access key id" },
    parity: "=",
  },
  {
    name: "fails with secret but no access id",
    config: 'secret_access_key = "SECRETACCESSKEY"',
    spire: { contains: "configuration missing access key id, but has secret access key" },
    parity: "=",
  },
  {
    name: "bad agent template",
    config: 'agent_path_template = "/{{ .InstanceID "',
    spire: { contains: "failed to parse agent svid template" },
    parity: "=",
  },
  {
    name: "invalid partitions specified ",
    config: 'partition = "invalid-aws-partition"',
    spire: {
      contains: 'invalid partition "invalid-aws-partition", must be one of: [aws aws-cn aws-us-gov]',
    },
    parity: /^`partition`: `aws`, `aws-cn`, `aws-us-gov`; anything else/,
  },
  ...["aws", "aws-cn", "aws-us-gov"].map(
    (partition): SpireCase => ({
      name: "success when valid partitions specified ",
      config: `partition = "${partition}"`,
      spire: "ok",
      parity: "=",
    }),
  ),
  {
    name: "success with envvars",
    env: { AWS_ACCESS_KEY_ID: "ACCESSKEYID", AWS_SECRET_ACCESS_KEY: "SECRETACCESSKEY" },
    config: "",
    spire: "ok",
    parity: "=",
  },
  { name: "success , no AWS keys", config: "", spire: "ok", parity: "=" },
  {
    name: "fail, account belongs to org, if params are not specified and feature enabled",
    config: "verify_organization = {}",
    spire: "error",
    parity: "=",
  },
  {
    name: "fail, account belongs to org, if only account id is specified, roles & region are not specified",
    config: 'verify_organization = { management_account_id = "dummy_account" }',
    spire: "error",
    parity: "=",
  },
  {
    name: "fail, account belongs to org, if ttl is not specified in proper format",
    config:
      'verify_organization = { management_account_id = "dummy_account" assume_org_role = "dummy_role" org_account_map_ttl = "2" }',
    spire: "error",
    parity: "=",
  },
  {
    name: "fail, account belongs to org, if ttl is specified and is less than min ttl required",
    config:
      'verify_organization = { management_account_id = "dummy_account" assume_org_role = "dummy_role" org_account_map_ttl = "30s" }',
    spire: "error",
    parity: "=",
  },
  {
    name: "success, verify_organization featured enabled with required params",
    config:
      'verify_organization = { management_account_id = "dummy_account" assume_org_role = "dummy_role" }',
    spire: "ok",
    parity: /^`management_account_id` and `management_account_region`: any string/,
  },
  {
    name: "success, verify_organization featured enabled with all params",
    config:
      'verify_organization = { management_account_id = "dummy_account" assume_org_role = "dummy_role" org_account_map_ttl = "1m30s" }',
    spire: "ok",
    parity: /^`management_account_id` and `management_account_region`: any string/,
  },
  {
    name: "success, validate_eks_cluster_membership block without eks_cluster_names property set",
    config: "validate_eks_cluster_membership = {}",
    spire: "ok",
    parity: /^An empty `validate_eks_cluster_membership \{\}` configures/,
  },
  {
    name: "success, validate_eks_cluster_membership block with eks_cluster_names property set to empty list",
    config: "validate_eks_cluster_membership = { eks_cluster_names = [] }",
    spire: "ok",
    parity: /^An empty `validate_eks_cluster_membership \{\}` configures/,
  },
  {
    name: "success, validate_eks_cluster_membership block with eks_cluster_names property set to non-empty list",
    config: 'validate_eks_cluster_membership = { eks_cluster_names = ["test-cluster-1", "test-cluster-2"] }',
    spire: "ok",
    parity: "=",
  },
];

async function ours(c: SpireCase): Promise<{ valid: boolean; text: string }> {
  const plugin = createServerPluginWith(
    {
      logger: silentLogger,
      hostServices: { agentStore: { agentExists: async () => false }, metrics: noopMetrics },
      setLogLevel: () => {},
    },
    // Closed loopback endpoints: Validate makes no AWS call, and nothing may leave the host.
    { env: c.env ?? {}, aws: { endpoint: "http://127.0.0.1:9" }, org: { endpoint: "http://127.0.0.1:9" } },
  );
  try {
    const r = await plugin.validate({ trustDomain: c.trustDomain ?? "example.org" }, c.config);
    return { valid: r.valid, text: r.notes.join("\n") };
  } finally {
    await plugin.close();
  }
}

function sameAsSpire(c: SpireCase, got: { valid: boolean; text: string }): boolean {
  if (c.spire === "ok") return got.valid;
  if (c.spire === "error") return !got.valid;
  return !got.valid && got.text.includes(c.spire.contains);
}

describe("SPIRE v1.13.3 TestConfigure, replayed", () => {
  const table = rows();

  it.each(CASES.map((c) => [`${c.name} (${c.config})`, c] as const))("%s", async (_title, c) => {
    const got = await ours(c);
    if (c.parity === "=") {
      expect(sameAsSpire(c, got), got.text).toBe(true);
      return;
    }
    // A difference: it is real, and parity.md lists it as one, naming this case.
    expect(sameAsSpire(c, got), `expected to differ from SPIRE: ${got.text}`).toBe(false);
    const matching = table.filter((r) => (c.parity as RegExp).test(r.claim));
    expect(matching, String(c.parity)).toHaveLength(1);
    const [row] = matching;
    expect(row!.ours, row!.ours).toMatch(/^≠|; ≠|\(≠|≠ /);
    expect(row!.ours.startsWith("=")).toBe(false);
    expect(references(row!.proof)).toContainEqual({ file: SPEC, name: c.name });
  });
});

describe("SPIRE v1.13.3 agent TestConfigure, replayed", () => {
  const environment = {
    logger: silentLogger,
    hostServices: { agentStore: undefined, metrics: noopMetrics },
    setLogLevel: () => {},
  };
  it.each([
    ["malformed", false],
    ["", true],
  ] as const)("plugin_data %j: valid %s, as in SPIRE", async (config, valid) => {
    const plugin = createAgentPluginWith(environment, { processEnv: {} });
    try {
      expect((await plugin.validate({ trustDomain: "example.org" }, config)).valid).toBe(valid);
    } finally {
      await plugin.close();
    }
  });
});
