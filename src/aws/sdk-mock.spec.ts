/** Response shapes the fakes never produce, through aws-sdk-client-mock. */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetInstanceProfileCommand, IAMClient } from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { awsAccessOptions } from "../testkit/config-defaults";
import { createAwsAccess } from "./index";

const ACCOUNT = "111111111111";
const REGION = "us-east-1";
const ID = "i-0123456789abcdef0";
const keys = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

describe("malformed AWS answers", () => {
  const ec2 = mockClient(EC2Client);
  const iam = mockClient(IAMClient);
  afterEach(() => {
    ec2.reset();
    iam.reset();
  });

  it("an answer without reservationSet is Unavailable, not 'not found'", async () => {
    ec2.on(DescribeInstancesCommand).resolves({});
    const aws = createAwsAccess(awsAccessOptions(keys));
    await expect(aws.describeInstance(ACCOUNT, REGION, ID)).rejects.toMatchObject({
      code: Code.Unavailable,
      message: expect.stringContaining("no reservationSet"),
    });
    await aws.close();
  });

  it("an instance without a state is Unavailable", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: ID }] }] });
    const aws = createAwsAccess(awsAccessOptions(keys));
    await expect(aws.describeInstance(ACCOUNT, REGION, ID)).rejects.toMatchObject({ code: Code.Unavailable });
    await aws.close();
  });

  it("asks DescribeInstances with the instance-id filter and pagination, never InstanceIds", async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: ID, State: { Name: "running", Code: 16 } }] }],
    });
    const aws = createAwsAccess(awsAccessOptions(keys));
    await aws.describeInstance(ACCOUNT, REGION, ID);
    const input = ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input;
    expect(input).toEqual({ Filters: [{ Name: "instance-id", Values: [ID] }], MaxResults: 1000 });
    await aws.close();
  });

  it("a GetInstanceProfile answer without InstanceProfile is Unavailable", async () => {
    iam.on(GetInstanceProfileCommand).resolves({} as never);
    const aws = createAwsAccess(awsAccessOptions(keys));
    await expect(
      aws.getInstanceProfileRoles(ACCOUNT, REGION, `arn:aws:iam::${ACCOUNT}:instance-profile/p`),
    ).rejects.toMatchObject({ code: Code.Unavailable });
    await aws.close();
  });

  it("refuses half-configured keys and unknown partitions at construction", () => {
    expect(() => createAwsAccess(awsAccessOptions({ accessKeyId: "AKID" }))).toThrow(
      /missing secret access key/,
    );
    expect(() => createAwsAccess(awsAccessOptions({ partition: "aws-moon" }))).toThrow(/invalid partition/);
  });
});
