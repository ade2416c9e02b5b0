import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeNodegroupCommand, EKSClient, ListNodegroupsCommand } from "@aws-sdk/client-eks";
import { GetInstanceProfileCommand, IAMClient } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EC2_RATE_LIMITS } from "./ec2";
import { FakeAws, type StaticCredentials } from "./fake-aws";

const ACCOUNT = "111111111111";
const OTHER = "222222222222";
const REGION = "us-west-2";

describe("world-backed fakes parsed by the real SDK", () => {
  let aws: FakeAws;
  let creds: StaticCredentials;
  let ec2: EC2Client;

  beforeAll(async () => {
    aws = await FakeAws.start({ ec2RateLimits: [] });
    creds = aws.baseCredentials(ACCOUNT);
    ec2 = new EC2Client({ region: REGION, endpoint: aws.url, credentials: creds, maxAttempts: 1 });
  });
  afterAll(async () => {
    ec2.destroy();
    await aws.close();
  });
  beforeEach(() => aws.server.calls.reset());

  it("DescribeInstances returns every field the attestor reads", async () => {
    const profile = aws.world.addInstanceProfile({
      account: ACCOUNT,
      name: "web",
      path: "/team/",
      roles: ["WebRole"],
    });
    const launch = new Date("2026-11-01T10:00:00Z");
    const inst = aws.world.addInstance({
      account: ACCOUNT,
      region: REGION,
      tags: { Name: "blog", "aws:autoscaling:groupName": "asg-1" },
      securityGroups: [{ id: "sg-01234567", name: "blog" }],
      profileArn: profile.arn,
      publicIpAddress: "203.0.113.9",
      launchTime: launch,
      networkInterfaces: [
        { deviceIndex: 1, attachTime: new Date("2026-11-01T10:05:00Z") },
        { deviceIndex: 0, attachTime: launch },
      ],
    });
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst.instanceId] }));
    const got = out.Reservations?.[0]?.Instances?.[0];
    expect(got?.InstanceId).toBe(inst.instanceId);
    expect(got?.State).toEqual({ Code: 16, Name: "running" });
    expect(got?.Tags).toEqual(
      expect.arrayContaining([
        { Key: "Name", Value: "blog" },
        { Key: "aws:autoscaling:groupName", Value: "asg-1" },
      ]),
    );
    expect(got?.SecurityGroups).toEqual([{ GroupId: "sg-01234567", GroupName: "blog" }]);
    expect(got?.IamInstanceProfile?.Arn).toBe(`arn:aws:iam::${ACCOUNT}:instance-profile/team/web`);
    expect(got?.NetworkInterfaces?.map((n) => n.Attachment?.DeviceIndex)).toEqual([1, 0]);
    expect(got?.NetworkInterfaces?.[1]?.Attachment?.AttachTime).toEqual(launch);
    expect(got?.BlockDeviceMappings?.[0]).toMatchObject({
      DeviceName: "/dev/xvda",
      Ebs: { AttachTime: launch },
    });
    expect(got?.RootDeviceName).toBe("/dev/xvda");
    expect(got?.RootDeviceType).toBe("ebs");
    expect(got?.PrivateIpAddress).toMatch(/^10\./);
    expect(got?.PublicIpAddress).toBe("203.0.113.9");
    expect(got?.Placement?.AvailabilityZone).toBe("us-west-2a");
    expect(got?.ImageId).toMatch(/^ami-/);
  });

  it("fails the whole call for one unknown ID, like EC2", async () => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst.instanceId, "i-0000000000000dead"] })),
    ).rejects.toMatchObject({
      name: "InvalidInstanceID.NotFound",
      message: "The instance ID 'i-0000000000000dead' does not exist",
    });
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-nothex"] }))).rejects.toMatchObject(
      {
        name: "InvalidInstanceID.Malformed",
      },
    );
  });

  it("hides other accounts' and regions' instances", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    const elsewhere = aws.world.addInstance({ account: ACCOUNT, region: "eu-west-1" });
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [theirs.instanceId] })),
    ).rejects.toMatchObject({
      name: "InvalidInstanceID.NotFound",
    });
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: "instance-id", Values: [theirs.instanceId, elsewhere.instanceId] }],
        MaxResults: 1000,
      }),
    );
    expect(out.Reservations ?? []).toEqual([]);
  });

  it("filters by instance-id and state and paginates with MaxResults/NextToken", async () => {
    const launched = aws.world.addInstances(12, { account: ACCOUNT, region: REGION });
    aws.world.setInstanceState(launched[0]!.instanceId, "stopped");
    const ids = launched.map((i) => i.instanceId);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: "instance-id", Values: [...ids, "i-0000000000000beef"] },
            { Name: "instance-state-name", Values: ["pending", "running"] },
          ],
          MaxResults: 5,
          NextToken: token,
        }),
      );
      for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) seen.push(i.InstanceId!);
      token = out.NextToken;
      pages += 1;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(ids.slice(1).sort());
  });

  it("refuses more than 200 filter values and InstanceIds with MaxResults", async () => {
    const values = Array.from({ length: 201 }, (_, i) => `i-${i.toString(16).padStart(17, "0")}`);
    await expect(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: values }] })),
    ).rejects.toMatchObject({ name: "FilterLimitExceeded" });
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-00000000000000001"], MaxResults: 5 })),
    ).rejects.toMatchObject({ name: "InvalidParameterCombination" });
  });

  it("models eventual consistency: invisible for the first N lookups", async () => {
    const fresh = aws.world.addInstance({ account: ACCOUNT, region: REGION, invisibleForLookups: 2 });
    const lookup = async (): Promise<number> => {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: "instance-id", Values: [fresh.instanceId] }],
          MaxResults: 5,
        }),
      );
      return out.Reservations?.length ?? 0;
    };
    expect(await lookup()).toBe(0);
    expect(await lookup()).toBe(0);
    expect(await lookup()).toBe(1);
  });

  it("throttles with EC2's buckets: unfiltered calls use the smaller one", async () => {
    // Refill 0 keeps the count independent of how fast this machine sends the requests.
    const frozen = EC2_RATE_LIMITS.map((l) => ({ ...l, refillPerSecond: 0 }));
    const throttled = await FakeAws.start({ ec2RateLimits: frozen });
    const c = throttled.baseCredentials(ACCOUNT);
    const client = new EC2Client({ region: REGION, endpoint: throttled.url, credentials: c, maxAttempts: 1 });
    const unfiltered = await Promise.allSettled(
      Array.from({ length: 60 }, () => client.send(new DescribeInstancesCommand({}))),
    );
    expect(unfiltered.filter((r) => r.status === "rejected")).toHaveLength(10);
    const rejected = unfiltered.find((r) => r.status === "rejected");
    expect((rejected as PromiseRejectedResult).reason).toMatchObject({ name: "RequestLimitExceeded" });
    const filtered = await Promise.allSettled(
      Array.from({ length: 110 }, () =>
        client.send(
          new DescribeInstancesCommand({ Filters: [{ Name: "instance-state-name", Values: ["running"] }] }),
        ),
      ),
    );
    expect(filtered.filter((r) => r.status === "rejected")).toHaveLength(10);
    expect(throttled.server.calls.count({ outcome: "throttled" })).toBe(20);
    client.destroy();
    await throttled.close();
  });

  it("GetInstanceProfile returns the roles; unknown profiles are NoSuchEntity", async () => {
    const profile = aws.world.addInstanceProfile({
      account: ACCOUNT,
      name: "db",
      roles: ["DbRole", "Audit"],
    });
    const iam = new IAMClient({ region: REGION, endpoint: aws.url, credentials: creds, maxAttempts: 1 });
    const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "db" }));
    expect(out.InstanceProfile?.Arn).toBe(profile.arn);
    expect(out.InstanceProfile?.Roles?.map((r) => r.Arn)).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/DbRole`,
      `arn:aws:iam::${ACCOUNT}:role/Audit`,
    ]);
    await expect(
      iam.send(new GetInstanceProfileCommand({ InstanceProfileName: "nope" })),
    ).rejects.toMatchObject({
      name: "NoSuchEntityException",
    });
    iam.destroy();
  });

  it("EKS node groups and Auto Scaling groups chain to instance IDs", async () => {
    const nodes = aws.world.addInstances(3, { account: ACCOUNT, region: REGION });
    aws.world.addAutoScalingGroup({
      account: ACCOUNT,
      region: REGION,
      name: "eks-ng1-asg",
      instanceIds: nodes.map((n) => n.instanceId),
    });
    aws.world.addEksCluster({
      account: ACCOUNT,
      region: REGION,
      name: "prod",
      nodegroups: [{ name: "ng1", autoScalingGroups: ["eks-ng1-asg"] }],
    });
    const eks = new EKSClient({ region: REGION, endpoint: aws.url, credentials: creds, maxAttempts: 1 });
    const asg = new AutoScalingClient({
      region: REGION,
      endpoint: aws.url,
      credentials: creds,
      maxAttempts: 1,
    });
    const list = await eks.send(new ListNodegroupsCommand({ clusterName: "prod" }));
    expect(list.nodegroups).toEqual(["ng1"]);
    const ng = await eks.send(new DescribeNodegroupCommand({ clusterName: "prod", nodegroupName: "ng1" }));
    expect(ng.nodegroup?.resources?.autoScalingGroups).toEqual([{ name: "eks-ng1-asg" }]);
    await expect(eks.send(new ListNodegroupsCommand({ clusterName: "nope" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    const groups = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["eks-ng1-asg", "unknown"] }),
    );
    expect(groups.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual(["eks-ng1-asg"]);
    expect(groups.AutoScalingGroups?.[0]?.Instances?.map((i) => i.InstanceId)).toEqual(
      nodes.map((n) => n.instanceId),
    );
    eks.destroy();
    asg.destroy();
  });

  it("scopes data by the assumed role's account and rejects expired session credentials", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    const sts = new STSClient({ region: REGION, endpoint: aws.url, credentials: creds, maxAttempts: 1 });
    aws.sts.credentialLifetimeSeconds = 1;
    const assumed = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${OTHER}:role/spire`, RoleSessionName: "t" }),
    );
    aws.sts.credentialLifetimeSeconds = undefined;
    const c = assumed.Credentials!;
    const client = new EC2Client({
      region: REGION,
      endpoint: aws.url,
      maxAttempts: 1,
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      },
    });
    const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [theirs.instanceId] }));
    expect(out.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(theirs.instanceId);
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(
      client.send(new DescribeInstancesCommand({ InstanceIds: [theirs.instanceId] })),
    ).rejects.toMatchObject({
      name: "RequestExpired",
    });
    client.destroy();
    sts.destroy();
  });
});
