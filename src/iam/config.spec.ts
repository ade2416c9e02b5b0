import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { decodeIamAgentConfig, decodeIamServerConfig } from "./config";

const server = (hcl: string) => decodeIamServerConfig(hcl);
const agent = (hcl: string, env: NodeJS.ProcessEnv = {}) => decodeIamAgentConfig(hcl, env);

describe("server configuration", () => {
  it("decodes the full set", () => {
    const c = server(`
      partitions = ["aws", "aws-us-gov"]
      allowed_account_ids = ["123456789012", 210987654321]
      allowed_role_arns = ["arn:aws:iam::*:role/spire-*"]
      allow_iam_users = true
      server_id_header_value = "spire.example.org"
      log_level = "DEBUG"
    `);
    expect(c).toMatchObject({
      partitions: ["aws", "aws-us-gov"],
      allowedAccountIds: new Set(["123456789012", "210987654321"]),
      allowedRoleArns: ["arn:aws:iam::*:role/spire-*"],
      allowIamUsers: true,
      serverIdHeaderValue: "spire.example.org",
      logLevel: "debug",
    });
  });

  const bad: Array<[string, string, RegExp]> = [
    ["no bound at all", "", /needs a bound/],
    [
      "misspelt key",
      'allowed_acount_ids = ["123456789012"]',
      /unknown key "allowed_acount_ids", did you mean allowed_account_ids\?/,
    ],
    ["short account", 'allowed_account_ids = ["1234"]', /not a 12-digit account ID/],
    ["role path", 'allowed_role_arns = ["arn:aws:iam::123456789012:role/team/app"]', /has a role path/],
    ["not an ARN", 'allowed_role_arns = ["spire-node"]', /not an IAM role ARN pattern/],
    [
      "unknown partition",
      'partitions = ["aws-iso"]\nallowed_account_ids = ["123456789012"]',
      /unknown partition/,
    ],
    [
      "server id with newline",
      'allowed_account_ids = ["123456789012"]\nserver_id_header_value = "a\\nb"',
      /printable ASCII/,
    ],
    [
      "a bool as a string (Go refuses it too)",
      'allowed_account_ids = ["123456789012"]\nallow_iam_users = "true"',
      /allow_iam_users/,
    ],
    [
      "agent_path_template with an aws_iid field",
      'allowed_account_ids = ["123456789012"]\nagent_path_template = "/{{ .InstanceID }}"',
      /can't evaluate field InstanceID in type awsiam.agentPathTemplateData/,
    ],
    [
      "agent_path_template that does not parse",
      'allowed_account_ids = ["123456789012"]\nagent_path_template = "/{{ .RoleName"',
      /failed to parse agent svid template/,
    ],
    ["org block without its keys", "verify_organization {}", /management_account_id/],
    ["an unknown block", 'allowed_account_ids = ["123456789012"]\nfoo { }', /unknown key "foo"/],
    [
      "bad HCL",
      "allowed_account_ids = [",
      /^invalid configuration:\nAt 1:24: unexpected token while parsing list: EOF$/,
    ],
  ];
  it("accepts verify_organization alone as the bound, in both modes", () => {
    expect(
      server('verify_organization {\n account_list_file = "/etc/spire/accounts.json"\n}').organization,
    ).toMatchObject({
      mode: "file",
      accountListFile: "/etc/spire/accounts.json",
      orgAccountMapTtl: { ms: 180_000 },
      orgServerReplicas: 5,
    });
    expect(
      server(
        'partitions = ["aws-us-gov"]\nverify_organization {\n management_account_id = "123456789012"\n assume_org_role = "spire-org"\n}',
      ).organization,
    ).toMatchObject({
      mode: "api",
      managementAccountRegion: "us-gov-west-1",
      partition: "aws-us-gov",
      assumeOrgRole: "spire-org",
    });
  });

  // issue 17 item 2: a wildcard in the account position matches that role name in every AWS
  // account, including one an attacker opens in minutes; it is not a bound on its own.
  const unboundedPatterns = [
    "*",
    "arn:*",
    "arn:aws:*",
    "arn:aws:iam::*:role/spire-node",
    "arn:aws:iam::1111*:role/spire-node",
    "arn:aws:iam::11112222333?:role/spire-node",
    "arn:aws:iam::*",
    "arn:aws:iam:*:role/spire-node",
  ];
  for (const pattern of unboundedPatterns) {
    it(`refuses ${JSON.stringify(pattern)} as the only bound, saying why`, () => {
      expect(() => server(`allowed_role_arns = [${JSON.stringify(pattern)}]`)).toThrow(
        expect.objectContaining({
          code: Code.InvalidArgument,
          message: expect.stringMatching(
            /does not fix the account.*any AWS account.*set allowed_account_ids or verify_organization/,
          ),
        }),
      );
    });
  }
  it("refuses a wildcard account pattern even next to account-bound ones", () => {
    expect(() =>
      server('allowed_role_arns = ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::*:role/b"]'),
    ).toThrow(/"arn:aws:iam::\*:role\/b" does not fix the account/);
  });
  it("accepts a wildcard account pattern bounded by allowed_account_ids or verify_organization", () => {
    expect(
      server('allowed_role_arns = ["arn:aws:iam::*:role/spire-node"]\nallowed_account_ids = ["123456789012"]')
        .allowedRoleArns,
    ).toEqual(["arn:aws:iam::*:role/spire-node"]);
    expect(
      server(
        'allowed_role_arns = ["*"]\nverify_organization {\n account_list_file = "/etc/spire/accounts.json"\n}',
      ).organization,
    ).toMatchObject({ mode: "file" });
  });
  it("accepts role patterns whose account is a literal 12-digit ID as the bound", () => {
    expect(
      server(
        'allowed_role_arns = ["arn:aws:iam::123456789012:role/spire-*", "arn:*:iam::210987654321:role/?"]',
      ).allowedRoleArns,
    ).toHaveLength(2);
  });

  it("decodes the admission bounds, defaulting to 32 MiB held and 64 attestations per address", () => {
    expect(server('allowed_account_ids = ["123456789012"]').admission).toEqual({
      maxBytes: 32 * 1024 * 1024,
      maxPerSource: 64,
    });
    expect(
      server(
        'allowed_account_ids = ["123456789012"]\nattestation_memory_limit_mib = 8\nmax_attestations_per_address = 0',
      ).admission,
    ).toEqual({ maxBytes: 8 * 1024 * 1024, maxPerSource: 0 });
    expect(() => server('allowed_account_ids = ["123456789012"]\nattestation_memory_limit_mib = 0')).toThrow(
      /attestation_memory_limit_mib/,
    );
  });

  for (const [name, hcl, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => server(hcl)).toThrow(
        expect.objectContaining({ code: Code.InvalidArgument, message: expect.stringMatching(message) }),
      );
    });
  }
});

describe("agent configuration", () => {
  it("defaults the region from AWS_REGION, then us-east-1", () => {
    expect(agent("", { AWS_REGION: "eu-west-1" }).endpoint.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(agent("").endpoint.host).toBe("sts.us-east-1.amazonaws.com");
  });
  it("builds global, FIPS, China and GovCloud hosts", () => {
    expect(agent("use_global_endpoint = true").endpoint).toMatchObject({
      host: "sts.amazonaws.com",
      signingRegion: "us-east-1",
    });
    expect(agent('region = "us-east-2"\nuse_fips_endpoint = true').endpoint.host).toBe(
      "sts-fips.us-east-2.amazonaws.com",
    );
    expect(agent('region = "cn-northwest-1"').endpoint.host).toBe("sts.cn-northwest-1.amazonaws.com.cn");
    expect(agent('region = "us-gov-west-1"\nuse_fips_endpoint = true').endpoint.host).toBe(
      "sts.us-gov-west-1.amazonaws.com",
    );
  });
  it("refuses unknown regions and impossible combinations", () => {
    expect(() => agent('region = "mars-east-1"')).toThrow(/not a known AWS region/);
    expect(() => agent('region = "cn-north-1"\nuse_global_endpoint = true')).toThrow(
      /only in the aws partition/,
    );
    expect(() => agent('region = "us-east-1"\nsts_endpoint = "http://x"')).toThrow(
      /unknown key "sts_endpoint"/,
    );
  });
});
