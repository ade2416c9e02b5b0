import { describe, expect, it } from "vitest";
import { formatProblem } from "../hcl/schema";
import { parseAgentConfig } from "./config";

describe("agent config", () => {
  it("defaults to the AWS SDK's IMDS settings", () => {
    const { config } = parseAgentConfig("");
    expect(config).toMatchObject({
      ec2MetadataEndpoint: undefined,
      imdsRetries: 2,
      disableImdsv1Fallback: false,
      logLevel: "info",
    });
    expect(config?.imdsTimeout.ms).toBe(1000);
  });

  it.each([
    ["http://169.254.169.254/latest", "http://169.254.169.254"],
    ["http://169.254.169.254/latest/", "http://169.254.169.254"],
    ["http://169.254.169.254", "http://169.254.169.254"],
    ["http://[fd00:ec2::254]/latest", "http://[fd00:ec2::254]"],
    ["http://127.0.0.1:8080/prefix/latest", "http://127.0.0.1:8080/prefix"],
  ])("accepts ec2_metadata_endpoint %s", (url, base) => {
    expect(parseAgentConfig(`ec2_metadata_endpoint = "${url}"`).config?.ec2MetadataEndpoint).toBe(base);
  });

  it("refuses bad values with positions", () => {
    const p = (hcl: string): string[] => parseAgentConfig(hcl).problems.map(formatProblem);
    expect(p('ec2_metadata_endpoint = "ftp://x"')).toEqual([
      "At 1:25: ec2_metadata_endpoint: scheme must be http or https, got ftp",
    ]);
    expect(p('ec2_metadata_endpoint = "not a url"')[0]).toMatch(/is not a URL/);
    expect(p("imds_retries = 99")[0]).toMatch(/must be between 0 and 10/);
    expect(p('imds_timeout = "1"')[0]).toMatch(/missing unit/);
    expect(p('assume_role = "x"')).toEqual(['At 1:1: unknown key "assume_role"']);
  });

  it("takes Go's coercions: a quoted int", () => {
    expect(parseAgentConfig('imds_retries = "5"').config?.imdsRetries).toBe(5);
  });
});
