import { describe, expect, it } from "vitest";
import { buildSelectors } from "./selectors";

const doc = {
  accountId: "test-account",
  availabilityZone: "test-az",
  imageId: "test-image-id",
  instanceId: "test-instance",
  region: "test-region",
};

describe("buildSelectors", () => {
  it("emits the five identity document selectors, sorted (iid_test.go success with zero device index)", () => {
    expect(buildSelectors({ document: doc, instances: [{}], roleArns: [] })).toEqual([
      "account_id:test-account",
      "az:test-az",
      "image:id:test-image-id",
      "instance:id:test-instance",
      "region:test-region",
    ]);
  });

  it("emits every kind, sorted byte-wise (iid_test.go success with all the selectors)", () => {
    const selectors = buildSelectors({
      document: doc,
      instances: [
        {
          Tags: [{ Key: "Hostname", Value: "host1" }],
          SecurityGroups: [{ GroupId: "TestGroup", GroupName: "Test Group Name" }],
        },
      ],
      roleArns: ["role1", "role2"],
    });
    expect(selectors).toEqual([
      "account_id:test-account",
      "az:test-az",
      "iamrole:role1",
      "iamrole:role2",
      "image:id:test-image-id",
      "instance:id:test-instance",
      "region:test-region",
      "sg:id:TestGroup",
      "sg:name:Test Group Name",
      "tag:Hostname:host1",
    ]);
  });

  it("keeps aws: tags, de-duplicates across instances, and writes missing fields as empty like aws.ToString", () => {
    const selectors = buildSelectors({
      document: doc,
      instances: [
        { Tags: [{ Key: "aws:autoscaling:groupName", Value: "my-asg" }, { Key: "k" }] },
        {
          Tags: [{ Key: "aws:autoscaling:groupName", Value: "my-asg" }],
          SecurityGroups: [{ GroupId: "sg-1" }],
        },
      ],
      roleArns: [undefined, "arn:aws:iam::123456789012:role/Blog", "arn:aws:iam::123456789012:role/Blog"],
    });
    expect(selectors.filter((s) => !/^(account_id|az|image|instance|region):/.test(s))).toEqual([
      "iamrole:arn:aws:iam::123456789012:role/Blog",
      "sg:id:sg-1",
      "sg:name:",
      "tag:aws:autoscaling:groupName:my-asg",
      "tag:k:",
    ]);
  });

  it("sorts by UTF-8 bytes as Go's sort.Strings does, not by UTF-16 units", () => {
    const selectors = buildSelectors({
      document: doc,
      instances: [
        {
          Tags: [
            { Key: "a", Value: "\u{1F600}" },
            { Key: "a", Value: "\uFF61" },
          ],
        },
      ],
      roleArns: [],
    });
    const tags = selectors.filter((s) => s.startsWith("tag:"));
    expect(tags).toEqual(["tag:a:\uFF61", "tag:a:\u{1F600}"]);
  });
});
