import { describe, expect, it } from "vitest";
import { formatProblem } from "../hcl/schema";
import { parseServerConfig } from "./config";

function problems(hcl: string, env: Record<string, string> = {}): string[] {
  return parseServerConfig(hcl, { env }).problems.map(formatProblem);
}

describe("server config", () => {
  it("gives SPIRE's defaults for an empty plugin_data", () => {
    const { config } = parseServerConfig("");
    expect(config).toMatchObject({
      credentials: undefined,
      skipBlockDevice: false,
      disableInstanceProfileSelectors: false,
      accountIdsForLocalValidation: [],
      agentPathTemplate: undefined,
      assumeRole: undefined,
      partition: "aws",
      verifyOrganization: undefined,
      validateEksClusterMembership: undefined,
      requireRsa2048Signature: false,
      allowedRegions: undefined,
      allowedAccountIds: undefined,
      maxLaunchAge: undefined,
      awsCertificates: [],
      verifyClientIp: false,
      logLevel: "info",
    });
    expect(config?.awsCallTimeout.ms).toBe(20_000);
    expect(config?.describeInstancesBatchWindow.ms).toBe(200);
    expect(config?.instanceProfileCacheTtl.ms).toBe(300_000);
  });

  it("reads SPIRE's printed plugin_data, with a numeric management_account_id as Go does", () => {
    const { config, problems: p } = parseServerConfig(
      'assume_role = "spire-role"\n\nverify_organization = {\n  management_account_id = 123456789012\n  assume_org_role       = "org"\n  org_account_map_ttl   = "10m"\n}',
    );
    expect(p).toEqual([]);
    expect(config?.verifyOrganization).toMatchObject({
      mode: "api",
      managementAccountId: "123456789012",
      assumeOrgRole: "org",
      managementAccountRegion: "us-west-2",
      orgAccountMissRetries: 5,
    });
    expect(config?.verifyOrganization?.orgAccountMapTtl.ms).toBe(600_000);
    expect(config?.verifyOrganization?.orgAccountMapMaxStale.ms).toBe(0);
  });

  it("uses SPIRE's messages for the key pair, partition and organization rules", () => {
    expect(problems('access_key_id = "AK"')).toEqual([
      "At 1:17: configuration missing secret access key, but has access key id",
    ]);
    expect(problems('secret_access_key = "SK"')).toEqual([
      "At 1:21: configuration missing access key id, but has secret access key",
    ]);
    expect(problems('access_key_id = "AK"', { AWS_SECRET_ACCESS_KEY: "from-env" })).toEqual([]);
    expect(problems('partition = "aws-moon"')).toEqual([
      'At 1:13: invalid partition "aws-moon", must be one of: [aws aws-cn aws-us-gov aws-iso aws-iso-b aws-eusc]',
    ]);
    expect(problems("verify_organization {}")[0]).toMatch(
      /please ensure that "management_account_id" & "assume_org_role" are present inside block or remove the block/,
    );
    expect(
      problems('verify_organization {\n account_list_file = "/f"\n assume_org_role = "r"\n}')[0],
    ).toMatch(/"account_list_file" is mutually exclusive with "management_account_id" and "assume_org_role"/);
    const ttl = (v: string): string[] =>
      problems(
        `verify_organization {\n management_account_id = "123456789012"\n assume_org_role = "r"\n org_account_map_ttl = ${v}\n}`,
      );
    expect(ttl('"59s"')[0]).toMatch(/should be greater than or equal to "1m"/);
    expect(ttl('"5"')[0]).toMatch(/it should be in duration and is suffixed with required 'm'/);
    expect(ttl('"1m"')).toEqual([]);
  });

  it("never puts the secret in a message", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG";
    for (const hcl of [
      `secret_access_key = "${secret}"`,
      `secret_access_key = ${secret}`,
      `secret_access_key = ["${secret}"]`,
      `secret_access_key { x = "${secret}" }`,
    ]) {
      const out = problems(hcl).join("\n");
      expect(out).not.toContain(secret);
      expect(out).not.toContain("wJalr");
    }
  });

  it("refuses typos with a suggestion, where SPIRE would silently ignore them", () => {
    expect(problems('verify_organisation {\n management_account_id = "123456789012"\n}')).toEqual([
      'At 1:1: unknown key "verify_organisation", did you mean verify_organization?',
    ]);
  });

  it("uses the partition's region by default for the organization client", () => {
    const region = (partition: string): string | undefined => {
      const { config } = parseServerConfig(
        `partition = "${partition}"\nverify_organization {\n management_account_id = "123456789012"\n assume_org_role = "r"\n}`,
      );
      return config?.verifyOrganization?.mode === "api"
        ? config.verifyOrganization.managementAccountRegion
        : undefined;
    };
    expect(region("aws")).toBe("us-west-2");
    expect(region("aws-us-gov")).toBe("us-gov-west-1");
    expect(region("aws-cn")).toBe("cn-northwest-1");
    expect(region("aws-iso")).toBe("us-iso-east-1");
    expect(region("aws-iso-b")).toBe("us-isob-east-1");
    expect(region("aws-eusc")).toBe("eusc-de-east-1");
  });

  it("supports require_org_account_id as a short form, reusing assume_role", () => {
    const { config } = parseServerConfig('require_org_account_id = "123456789012"\nassume_role = "spire"');
    expect(config?.verifyOrganization).toMatchObject({
      source: "require_org_account_id",
      mode: "api",
      managementAccountId: "123456789012",
      assumeOrgRole: "spire",
    });
    expect(problems('require_org_account_id = "123456789012"')[0]).toMatch(/needs assume_role/);
    expect(
      problems(
        'require_org_account_id = "123456789012"\nassume_role = "r"\nverify_organization {\n account_list_file = "/f"\n}',
      )[0],
    ).toMatch(/use one or the other/);
  });

  it("refuses a management_account_id that is not 12 digits and a management_account_region that is no region name, which SPIRE accepts", () => {
    const org = (keys: string): string[] =>
      problems(`verify_organization {\n assume_org_role = "r"\n${keys}\n}`);
    expect(org(' management_account_id = "12345"')).toEqual([
      "At 3:26: verify_organization.management_account_id: must be a 12-digit account id",
    ]);
    expect(org(' management_account_id = "123456789012"\n management_account_region = "us_west_2"')).toEqual([
      'At 4:30: verify_organization.management_account_region: "us_west_2" is not a region name',
    ]);
    expect(org(' management_account_id = "123456789012"\n management_account_region = "eu-west-1"')).toEqual(
      [],
    );
  });

  it("checks our own keys", () => {
    expect(problems("validate_eks_cluster_membership {}")[0]).toMatch(/at least one cluster/);
    expect(problems('allowed_account_ids = ["12345"]')[0]).toMatch(/not a 12-digit account id/);
    expect(problems('allowed_regions = ["us_east_1"]')[0]).toMatch(/not a region name/);
    expect(problems('max_launch_age = "forever"')[0]).toMatch(/time: invalid duration/);
    expect(problems('aws_call_timeout = "-1s"')[0]).toMatch(/must be at least/);
    expect(
      problems('aws_certificate {\n region = "eu-south-2"\n kind = "ecdsa"\n pem_path = "/x"\n}')[0],
    ).toMatch(/kind: required, one of rsa2048, rsa, dsa/);
    expect(problems('log_level = "verbose"')[0]).toMatch(
      /log_level: must be one of trace, debug, info, warn, error/,
    );
    const { config } = parseServerConfig(
      'aws_certificate {\n region = "eu-south-2"\n kind = "rsa2048"\n pem_path = "/a"\n}\naws_certificate {\n region = "eu-south-2"\n kind = "dsa"\n pem_path = "/b"\n}\nlog_level = "WARN"\ndescribe_instances_batch_window = "0"',
    );
    expect(config?.awsCertificates.map((c) => c.kind)).toEqual(["rsa2048", "dsa"]);
    expect(config?.logLevel).toBe("warn");
    expect(config?.describeInstancesBatchWindow.ms).toBe(0);
  });

  it("reports every problem, sorted by position", () => {
    expect(problems('skip_block_device = "yes"\npartition = "x"\nfoo = 1')).toHaveLength(3);
  });
});
