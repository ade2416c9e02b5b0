import { describe, expect, it } from "vitest";
import { instanceProfileNameFromArn, isPartition, isRegionName, PARTITIONS, roleArn } from "./partition";

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

  it("reads instance profile ARNs as SPIRE's instanceProfileNameFromArn does", () => {
    // SPIRE's own cases (awsiid iid_test.go TestInstanceProfileArnParsing) and #2825 paths.
    expect(
      instanceProfileNameFromArn("arn:aws:iam::123412341234:instance-profile/nodes.test.k8s.local"),
    ).toEqual({
      name: "nodes.test.k8s.local",
    });
    expect(instanceProfileNameFromArn("arn:aws:iam::123456789012:instance-profile/a/b/web")).toEqual({
      name: "web",
    });
    expect(instanceProfileNameFromArn("arn:aws-cn:iam::123456789012:instance-profile/web")).toEqual({
      name: "web",
    });
    // Go's arn.Parse takes empty sections: SPIRE attests with this short form.
    expect(instanceProfileNameFromArn("arn:aws::::instance-profile/test-profile")).toEqual({
      name: "test-profile",
    });
    expect(instanceProfileNameFromArn("not-an-arn")).toEqual({
      reason: "failed to parse arn: invalid prefix",
    });
    expect(instanceProfileNameFromArn("arn:aws:iam::123456789012")).toEqual({
      reason: "failed to parse arn: not enough sections",
    });
    expect(
      instanceProfileNameFromArn(
        "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/My App/MyEnvironment",
      ),
    ).toEqual({ reason: "arn is not for an instance profile" });
    expect(instanceProfileNameFromArn("arn:aws:iam::123456789012:role/web")).toEqual({
      reason: "arn is not for an instance profile",
    });
    // A name IAM would refuse is refused here, before any call.
    expect(instanceProfileNameFromArn("arn:aws:iam::123456789012:instance-profile/we b")).toEqual({
      reason: "arn is not for an instance profile",
    });
  });

  it("recognises region codes", () => {
    for (const r of ["us-west-2", "us-gov-east-1", "eusc-de-east-1", "us-isob-east-1", "cn-north-1"]) {
      expect(isRegionName(r)).toBe(true);
    }
    for (const r of ["", "us-west", "../x", "US-WEST-2"]) expect(isRegionName(r)).toBe(false);
  });
});
