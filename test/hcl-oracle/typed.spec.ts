/**
 * Typed decoding against Go's `hcl.Decode(&struct)` with a struct shaped like SPIRE's
 * IIDAttestorConfig (main.go, mode "typed"): the same inputs must decode to the same values,
 * or fail, and where Go's first error has a position ours must start there too.
 * Not compared, on purpose: unknown keys and labelled blocks (Go ignores them, we refuse).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HclError } from "../../src/hcl/errors";
import { parse } from "../../src/hcl/parser";
import { type Decoded, decodeWithSchema, type Fields } from "../../src/hcl/schema";
import { buildOracle, type OracleResult, runOracle } from "./oracle";

const skip = process.env.HCL_ORACLE_SKIP === "1";

const goStruct = {
  access_key_id: { type: "string", doc: "" },
  secret_access_key: { type: "string", doc: "" },
  skip_block_device: { type: "bool", default: false, doc: "" },
  disable_instance_profile_selectors: { type: "bool", default: false, doc: "" },
  account_ids_for_local_validation: { type: "stringList", doc: "" },
  agent_path_template: { type: "string", doc: "" },
  assume_role: { type: "string", doc: "" },
  partition: { type: "string", doc: "" },
  verify_organization: {
    type: "block",
    doc: "",
    fields: {
      management_account_id: { type: "string", doc: "" },
      assume_org_role: { type: "string", doc: "" },
      management_account_region: { type: "string", doc: "" },
      org_account_map_ttl: { type: "string", doc: "" },
      account_list_file: { type: "string", doc: "" },
      org_account_miss_retries: { type: "int", default: 0, doc: "" },
    },
  },
  validate_eks_cluster_membership: {
    type: "block",
    doc: "",
    fields: { eks_cluster_names: { type: "stringList", doc: "" } },
  },
  imds_retries: { type: "int", default: 0, doc: "" },
  max_launch_age: { type: "string", doc: "" },
} as const satisfies Fields;

export const typedCases: readonly string[] = [
  "",
  'access_key_id = "AK"\nsecret_access_key = "SK"',
  "access_key_id = 12345",
  "access_key_id = 0x1F",
  "access_key_id = -7",
  "access_key_id = 1.5",
  "access_key_id = true",
  'access_key_id = ["a"]',
  "access_key_id { }",
  "access_key_id { a = 1 }",
  "access_key_id = <<EOF\nheredoc\nEOF\n",
  'ACCESS_KEY_ID = "upper"',
  'Assume_Role = "mixed"\nassume_role = "lower"',
  'assume_role = "a"\nassume_role = "b"',
  "skip_block_device = true",
  'skip_block_device = "true"',
  "skip_block_device = 1",
  "skip_block_device = [true]",
  "imds_retries = 8080",
  'imds_retries = "8080"',
  'imds_retries = "0x10"',
  'imds_retries = "1_000"',
  'imds_retries = "abc"',
  'imds_retries = " 1"',
  "imds_retries = 1.5",
  "imds_retries = 9223372036854775808",
  "imds_retries = 08",
  "imds_retries = true",
  'account_ids_for_local_validation = ["111122223333", 444455556666]',
  'account_ids_for_local_validation = ["a"]\naccount_ids_for_local_validation = ["b"]',
  'account_ids_for_local_validation = "111122223333"',
  "account_ids_for_local_validation = [true]",
  "account_ids_for_local_validation = [1.5]",
  'account_ids_for_local_validation = [["x"]]',
  "account_ids_for_local_validation = []",
  'verify_organization { management_account_id = "123456789012"\n assume_org_role = "r" }',
  "verify_organization = { management_account_id = 123456789012 }",
  "verify_organization {}",
  'verify_organization { assume_org_role = "a" }\nverify_organization { management_account_id = "1" }',
  'verify_organization = "x"',
  'verify_organization = [{ assume_org_role = "a" }]',
  'verify_organization { org_account_miss_retries = "7" }',
  "verify_organization { org_account_miss_retries = true }",
  "verify_organization { org_account_map_ttl = 5 }",
  "verify_organization { management_account_id = true }",
  'validate_eks_cluster_membership { eks_cluster_names = ["a", "b"] }',
  "validate_eks_cluster_membership = { eks_cluster_names = [] }",
  'validate_eks_cluster_membership { eks_cluster_names = "a" }',
  'max_launch_age = "1h30m"',
  "max_launch_age = 90",
  '{"assume_role": "j", "skip_block_device": true, "imds_retries": "3"}',
  '{"verify_organization": {"management_account_id": "123456789012", "assume_org_role": "r"}}',
  '{"account_ids_for_local_validation": ["a", 1, true]}',
  '{"skip_block_device": "true"}',
  '{"assume_role": null}',
  '{"validate_eks_cluster_membership": {"eks_cluster_names": ["x"]}}',
];

type GoJson = Record<string, unknown>;

function toGoShape(v: Decoded<typeof goStruct>): GoJson {
  const org = v.verify_organization;
  const eks = v.validate_eks_cluster_membership;
  return {
    access_key_id: v.access_key_id ?? "",
    secret_access_key: v.secret_access_key ?? "",
    skip_block_device: v.skip_block_device,
    disable_instance_profile_selectors: v.disable_instance_profile_selectors,
    account_ids_for_local_validation: v.account_ids_for_local_validation ?? null,
    agent_path_template: v.agent_path_template ?? "",
    assume_role: v.assume_role ?? "",
    partition: v.partition ?? "",
    verify_organization:
      org === undefined
        ? null
        : {
            management_account_id: org.management_account_id ?? "",
            assume_org_role: org.assume_org_role ?? "",
            management_account_region: org.management_account_region ?? "",
            org_account_map_ttl: org.org_account_map_ttl ?? "",
            account_list_file: org.account_list_file ?? "",
            org_account_miss_retries: org.org_account_miss_retries,
          },
    validate_eks_cluster_membership:
      eks === undefined ? null : { eks_cluster_names: eks.eks_cluster_names ?? null },
    imds_retries: v.imds_retries,
    max_launch_age: v.max_launch_age ?? "",
  };
}

describe.skipIf(skip)("typed decoding agrees with Go's hcl.Decode into a struct", () => {
  let results: OracleResult[] = [];
  beforeAll(() => {
    buildOracle();
    results = runOracle(typedCases.map((input) => ({ mode: "typed", input })));
  });

  it.each(typedCases.map((text, index) => ({ text, index, name: JSON.stringify(text).slice(0, 70) })))(
    "$name",
    ({ text, index }) => {
      const go = results[index]!;
      let decoded: ReturnType<typeof decodeWithSchema<typeof goStruct>> | undefined;
      let parseError: HclError | undefined;
      try {
        decoded = decodeWithSchema(parse(text).root, goStruct, { allowUnknownKeys: true });
      } catch (e) {
        if (!(e instanceof HclError)) throw e;
        parseError = e;
      }
      if (go.error === undefined && go.panic === undefined) {
        expect(parseError).toBeUndefined();
        expect(decoded!.problems).toEqual([]);
        expect(toGoShape(decoded!.value)).toEqual(go.value);
        return;
      }
      const problems = parseError ? [{ pos: parseError.pos }] : decoded!.problems;
      expect(problems.length, `Go failed with ${go.error ?? go.panic}`).toBeGreaterThan(0);
      const m = /^At (\d+):(\d+):/.exec(go.error ?? "");
      if (m) {
        expect(problems[0]!.pos).toMatchObject({ line: Number(m[1]), column: Number(m[2]) });
      }
    },
  );
});
