import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { decodeIamAgentConfig, decodeIamServerConfig } from "./config";
import { parseIamConfigText } from "./config-text";

const server = (hcl: string) => decodeIamServerConfig(parseIamConfigText(hcl));
const agent = (hcl: string, env: NodeJS.ProcessEnv = {}) =>
  decodeIamAgentConfig(parseIamConfigText(hcl), env);

describe("server configuration", () => {
  it("decodes the full set", () => {
    const c = server(`
      partitions = ["aws", "aws-us-gov"]
      allowed_account_ids = ["123456789012", 210987654321]
      allowed_role_arns = ["arn:aws:iam::*:role/spire-*"]
      allow_iam_users = "true"
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
      /unknown configuration key "allowed_acount_ids"/,
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
      "repeated key",
      'allowed_account_ids = ["123456789012"]\nallowed_account_ids = ["123456789012"]',
      /set twice/,
    ],
    ["a block", 'allowed_account_ids = ["123456789012"]\nfoo { }', /unexpected block|must not be a block/],
    ["bad HCL", "allowed_account_ids = [", /unable to decode configuration/],
  ];
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
      /unknown configuration key/,
    );
  });
});
