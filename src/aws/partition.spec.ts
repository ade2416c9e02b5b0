import { describe, expect, it } from "vitest";
import { isPartition, isRegion, PARTITIONS, parseInstanceProfileArn, roleArn } from "./partition";

describe("partitions and ARNs", () => {
  it("accepts the six partitions, including those SPIRE refuses", () => {
    expect([...PARTITIONS]).toEqual(["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-eusc"]);
    expect(isPartition("aws-eusc")).toBe(true);
    expect(isPartition("aws-moon")).toBe(false);
  });

  it("builds role ARNs in the node's account", () => {
    expect(roleArn("aws-us-gov", "123456789012", "spire")).toBe(
      "arn:aws-us-gov:iam::123456789012:role/spire",
    );
  });

  it("takes the profile name from the last path segment (SPIRE #2825)", () => {
    expect(parseInstanceProfileArn("arn:aws:iam::123456789012:instance-profile/a/b/web")).toEqual({
      partition: "aws",
      account: "123456789012",
      path: "/a/b/",
      name: "web",
    });
    expect(parseInstanceProfileArn("arn:aws-cn:iam::123456789012:instance-profile/web")?.name).toBe("web");
    expect(parseInstanceProfileArn("arn:aws:iam::123456789012:role/web")).toBeUndefined();
    expect(parseInstanceProfileArn("arn:aws:iam::1234:instance-profile/web")).toBeUndefined();
  });

  it("recognises region codes", () => {
    for (const r of ["us-west-2", "us-gov-east-1", "eusc-de-east-1", "us-isob-east-1", "cn-north-1"]) {
      expect(isRegion(r)).toBe(true);
    }
    for (const r of ["", "us-west", "../x", "US-WEST-2"]) expect(isRegion(r)).toBe(false);
  });
});
