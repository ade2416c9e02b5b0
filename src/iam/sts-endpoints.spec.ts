import { describe, expect, it } from "vitest";
import { explainUnknownHost, knownStsEndpoints } from "./sts-endpoints";

describe("knownStsEndpoints", () => {
  it("covers regional, FIPS and global hosts of the aws partition only", () => {
    const aws = knownStsEndpoints(["aws"]);
    expect(aws.get("sts.amazonaws.com")).toMatchObject({ signingRegion: "us-east-1", kind: "global" });
    expect(aws.get("sts.ap-southeast-7.amazonaws.com")).toMatchObject({ signingRegion: "ap-southeast-7" });
    expect(aws.get("sts-fips.us-west-2.amazonaws.com")).toMatchObject({ kind: "fips" });
    expect(aws.has("sts.cn-north-1.amazonaws.com.cn")).toBe(false);
    expect(aws.has("sts.us-gov-west-1.amazonaws.com")).toBe(false);
  });
  it("adds China and GovCloud when configured", () => {
    const all = knownStsEndpoints(["aws", "aws-cn", "aws-us-gov"]);
    expect(all.get("sts.cn-north-1.amazonaws.com.cn")).toMatchObject({ partition: "aws-cn" });
    expect(all.get("sts.us-gov-east-1.amazonaws.com")).toMatchObject({ partition: "aws-us-gov" });
    expect(all.has("sts-fips.us-gov-east-1.amazonaws.com")).toBe(false);
    for (const host of all.keys())
      expect(host).toMatch(/^sts(-fips)?\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$/);
  });
  it("explains an unknown region and an unconfigured partition", () => {
    expect(explainUnknownHost("sts.us-west-9.amazonaws.com", ["aws"])).toContain(
      "not known to this plugin version",
    );
    expect(explainUnknownHost("sts.us-gov-west-1.amazonaws.com", ["aws"])).toContain("partition aws-us-gov");
    expect(explainUnknownHost("sts.evil.com", ["aws"])).toContain("not a known STS endpoint");
  });
});
