/**
 * The AWS access layer against the loopback fakes with the real SDK: batching, caches,
 * assume-role, and every fault the plugin must turn into the right gRPC code.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code, type PluginError } from "../common/errors";
import type { Metrics } from "../common/metrics";
import { cancelled as streamCancelled } from "../common/signals";
import { FakeAws, type StaticCredentials } from "../testkit/aws-fake";
import { defaultAwsSettings } from "../testkit/config-defaults";
import { recordingLogger, recordingMetrics, rejection } from "../testkit/recording";
import { type AwsAccess, type AwsAccessOptions, createAwsAccess } from "./index";

const ACCOUNT = "111111111111";
const OTHER = "222222222222";
const REGION = "us-west-2";

describe("createAwsAccess against the fakes", () => {
  let aws: FakeAws;
  let creds: StaticCredentials;
  const opened: AwsAccess[] = [];

  const access = (extra: Partial<AwsAccessOptions> = {}): AwsAccess => {
    const a = createAwsAccess({
      ...defaultAwsSettings(),
      ...creds,
      endpoint: aws.url,
      instanceNotFoundRetryDelayMs: 5,
      callTimeoutMs: 5_000,
      ...extra,
    });
    opened.push(a);
    return a;
  };

  beforeAll(async () => {
    aws = await FakeAws.start();
    creds = aws.baseCredentials(ACCOUNT);
  });
  afterEach(async () => {
    aws.server.faults.clear();
    aws.server.calls.reset();
    aws.server.resetRateLimits();
    aws.sts.deniedRoles.clear();
    aws.sts.credentialLifetimeSeconds = undefined;
    await Promise.all(opened.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await aws.close();
  });

  it("describes a running instance with what the selectors need", async () => {
    const inst = aws.world.addInstance({
      account: ACCOUNT,
      region: REGION,
      tags: { Name: "blog" },
      securityGroups: [{ id: "sg-0123", name: "web" }],
    });
    const got = await access().describeInstance(ACCOUNT, REGION, inst.instanceId);
    expect(got.InstanceId).toBe(inst.instanceId);
    expect(got.Tags).toEqual([{ Key: "Name", Value: "blog" }]);
    expect(got.SecurityGroups).toEqual([{ GroupId: "sg-0123", GroupName: "web" }]);
  });

  it("coalesces concurrent lookups into ceil(N/200) filtered calls, each caller getting its own answer", async () => {
    const launched = aws.world.addInstances(450, { account: ACCOUNT, region: REGION });
    const a = access({ instanceNotFoundRetries: 0 });
    const unknown = "i-0000000000000dead";
    const results = await Promise.allSettled([
      ...launched.map((i) => a.describeInstance(ACCOUNT, REGION, i.instanceId)),
      a.describeInstance(ACCOUNT, REGION, unknown),
    ]);
    const ok = results.slice(0, 450);
    expect(
      ok.every((r, n) => r.status === "fulfilled" && r.value.InstanceId === launched[n]!.instanceId),
    ).toBe(true);
    const last = results[450]!;
    expect(last.status).toBe("rejected");
    const err = (last as PromiseRejectedResult).reason as PluginError;
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain(
      `failed to query AWS via describe-instances: returned no reservations: instance ${unknown} not found in account ${ACCOUNT} region ${REGION}`,
    );
    expect(aws.server.calls.count({ service: "ec2", action: "DescribeInstances" })).toBe(
      Math.ceil(451 / 200),
    );
  });

  it("sends an idle lookup at once, paces the next, and leaves a cancelled lookup out of the paced call", async () => {
    const [first, second, third] = aws.world.addInstances(3, { account: ACCOUNT, region: REGION });
    const sizes: number[] = [];
    const metrics: Metrics = {
      incrCounter: () => undefined,
      setGauge: () => undefined,
      measureSince: () => undefined,
      addSample: (key, value) => {
        if (key.join(".") === "aws.describe_instances.batch_size") sizes.push(value);
      },
    };
    // The longest window the config allows: the second and third lookups are certain to
    // arrive inside it, so they wait for the paced call.
    const a = access({ describeBatchWindowMs: 1_000, metrics });
    await a.describeInstance(ACCOUNT, REGION, first!.instanceId);
    expect(sizes).toEqual([1]);
    const controller = new AbortController();
    const cancelled = rejection(a.describeInstance(ACCOUNT, REGION, third!.instanceId, controller.signal));
    const kept = a.describeInstance(ACCOUNT, REGION, second!.instanceId);
    controller.abort();
    const err = await cancelled;
    expect(err.code).toBe(Code.Cancelled);
    expect((await kept).InstanceId).toBe(second!.instanceId);
    expect(sizes).toEqual([1, 1]);
    expect(aws.server.calls.count({ service: "ec2", action: "DescribeInstances" })).toBe(2);
  });

  it("makes one call per lookup with batching off (SPIRE's pattern)", async () => {
    const launched = aws.world.addInstances(30, { account: ACCOUNT, region: REGION });
    const a = access({ describeBatchWindowMs: 0 });
    await Promise.all(launched.map((i) => a.describeInstance(ACCOUNT, REGION, i.instanceId)));
    expect(aws.server.calls.count({ service: "ec2", action: "DescribeInstances" })).toBe(30);
  });

  it("refuses stopped and terminated instances by name", async () => {
    const stopped = aws.world.addInstance({ account: ACCOUNT, region: REGION, state: "stopped" });
    const gone = aws.world.addInstance({ account: ACCOUNT, region: REGION, state: "terminated" });
    const a = access();
    const e1 = await rejection(a.describeInstance(ACCOUNT, REGION, stopped.instanceId));
    expect(e1.code).toBe(Code.PermissionDenied);
    expect(e1.message).toContain(`instance ${stopped.instanceId} is stopped`);
    const e2 = await rejection(a.describeInstance(ACCOUNT, REGION, gone.instanceId));
    expect(e2.message).toContain("is terminated");
  });

  it("looks again for a just-launched instance (eventual consistency), with a bound", async () => {
    const fresh = aws.world.addInstance({ account: ACCOUNT, region: REGION, invisibleForLookups: 2 });
    const got = await access().describeInstance(ACCOUNT, REGION, fresh.instanceId);
    expect(got.InstanceId).toBe(fresh.instanceId);
    expect(aws.server.calls.count({ action: "DescribeInstances" })).toBe(3);

    aws.server.calls.reset();
    const late = aws.world.addInstance({ account: ACCOUNT, region: REGION, invisibleForLookups: 10 });
    const err = await rejection(
      access({ instanceNotFoundRetries: 2 }).describeInstance(ACCOUNT, REGION, late.instanceId),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(aws.server.calls.count({ action: "DescribeInstances" })).toBe(3);
  });

  it("rejects malformed identifiers before calling AWS", async () => {
    const a = access();
    expect((await rejection(a.describeInstance(ACCOUNT, REGION, "i-xyz"))).code).toBe(Code.InvalidArgument);
    expect((await rejection(a.describeInstance("12", REGION, "i-0123456789abcdef0"))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await rejection(a.describeInstance(ACCOUNT, "../x", "i-0123456789abcdef0"))).code).toBe(
      Code.InvalidArgument,
    );
    expect(aws.server.calls.records.length).toBe(0);
  });

  it("backs off on throttling and succeeds", async () => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.server.faults.add({ service: "ec2", action: "DescribeInstances", times: 2 }, { kind: "throttle" });
    const got = await access({ callTimeoutMs: 20_000 }).describeInstance(ACCOUNT, REGION, inst.instanceId);
    expect(got.InstanceId).toBe(inst.instanceId);
    expect(aws.server.calls.summary()["ec2:DescribeInstances"]).toMatchObject({
      total: 3,
      throttled: 2,
      ok: 1,
    });
  });

  it("gives Unavailable when throttling outlasts the retries or the timeout", async () => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.server.faults.add({ service: "ec2", action: "DescribeInstances" }, { kind: "throttle" });
    const err = await rejection(
      access({ maxAttempts: 2, callTimeoutMs: 4_000 }).describeInstance(ACCOUNT, REGION, inst.instanceId),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(aws.server.calls.count({ action: "DescribeInstances" })).toBeLessThanOrEqual(2);
  });

  it.each([
    ["hang", { kind: "hang" } as const],
    ["bare 500", { kind: "status", status: 500 } as const],
    ["503 error", { kind: "error", status: 503, code: "Unavailable" } as const],
    ["malformed body", { kind: "malformed" } as const],
    ["truncated body", { kind: "truncate" } as const],
    ["connection reset", { kind: "reset" } as const],
    ["empty XML", { kind: "drip", bytesPerChunk: 100, intervalMs: 1 } as const],
  ])("turns %s into Unavailable within the timeout", async (_name, fault) => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.server.faults.add({ service: "ec2", action: "DescribeInstances" }, fault);
    const err = await rejection(
      access({ callTimeoutMs: 600, maxAttempts: 2 }).describeInstance(ACCOUNT, REGION, inst.instanceId),
    );
    expect(err.code).toBe(Code.Unavailable);
  });

  it("names the missing permission when the server's credentials are not allowed", async () => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.server.faults.add(
      { service: "ec2", action: "DescribeInstances" },
      { kind: "error", status: 403, code: "UnauthorizedOperation", message: "You are not authorized" },
    );
    const err = await rejection(access().describeInstance(ACCOUNT, REGION, inst.instanceId));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("grant ec2:DescribeInstances");
    expect(err.message).toContain("the configured access_key_id");
  });

  it("assumes the role in the node's account, once per session, and never leaks secrets", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    const logger = recordingLogger();
    const a = access({ assumeRole: "spire-reader", logger });
    await Promise.all([1, 2, 3].map(() => a.describeInstance(OTHER, REGION, theirs.instanceId)));
    await a.describeInstance(OTHER, REGION, theirs.instanceId);
    expect(aws.server.calls.count({ service: "sts", action: "AssumeRole" })).toBe(1);
    const issued = aws.sts.issuedCredentials();
    expect(issued.map((c) => c.roleArn)).toEqual([`arn:aws:iam::${OTHER}:role/spire-reader`]);
    const log = JSON.stringify(logger.lines);
    expect(log).not.toContain(creds.secretAccessKey);
    for (const c of issued) {
      expect(log).not.toContain(c.secretAccessKey);
      expect(log).not.toContain(c.sessionToken);
    }
    expect(a.roleArnFor(OTHER)).toBe(`arn:aws:iam::${OTHER}:role/spire-reader`);
  });

  it("rejects a node whose account refuses the role with PermissionDenied naming role and account", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    aws.sts.deniedRoles.add(`arn:aws:iam::${OTHER}:role/spire-reader`);
    const err = await rejection(
      access({ assumeRole: "spire-reader" }).describeInstance(OTHER, REGION, theirs.instanceId),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain(`arn:aws:iam::${OTHER}:role/spire-reader`);
    expect(err.message).toContain(`account ${OTHER}`);
    expect(err.message).not.toContain(creds.secretAccessKey);
  });

  // issue 17 item 5: without a negative cache every attestation from a foreign account cost
  // one STS call, so a stream of them drained the server's STS quota for honest accounts.
  it("remembers a refused AssumeRole per account for a short TTL: one STS call per TTL, not per attestation", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    const ours = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    const denied = `arn:aws:iam::${OTHER}:role/spire-reader`;
    aws.sts.deniedRoles.add(denied);
    const assumeCalls = () => aws.server.calls.count({ service: "sts", action: "AssumeRole" });
    const a = access({ assumeRole: "spire-reader", assumeRoleFailureTtlMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      const err = await rejection(a.describeInstance(OTHER, REGION, theirs.instanceId));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toContain(denied);
    }
    expect(assumeCalls()).toBe(1);
    // Other accounts are unaffected.
    await a.describeInstance(ACCOUNT, REGION, ours.instanceId);
    expect(assumeCalls()).toBe(2);
    // Once the TTL has passed the role is tried again: an account that has just created it attests.
    const b = access({ assumeRole: "spire-reader", assumeRoleFailureTtlMs: 50 });
    expect((await rejection(b.describeInstance(OTHER, REGION, theirs.instanceId))).code).toBe(
      Code.PermissionDenied,
    );
    aws.sts.deniedRoles.delete(denied);
    await new Promise((r) => setTimeout(r, 100));
    await expect(b.describeInstance(OTHER, REGION, theirs.instanceId)).resolves.toMatchObject({
      InstanceId: theirs.instanceId,
    });
  });

  it("does not remember a throttled AssumeRole: the next attestation asks STS again", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    aws.server.faults.add({ service: "sts", action: "AssumeRole", times: 1 }, { kind: "throttle" });
    const a = access({ assumeRole: "spire-reader", maxAttempts: 1 });
    expect((await rejection(a.describeInstance(OTHER, REGION, theirs.instanceId))).code).toBe(
      Code.Unavailable,
    );
    await expect(a.describeInstance(OTHER, REGION, theirs.instanceId)).resolves.toMatchObject({
      InstanceId: theirs.instanceId,
    });
  });

  it("treats a throttled AssumeRole as Unavailable", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    aws.server.faults.add({ service: "sts", action: "AssumeRole" }, { kind: "throttle" });
    const err = await rejection(
      access({ assumeRole: "spire-reader", maxAttempts: 1 }).describeInstance(
        OTHER,
        REGION,
        theirs.instanceId,
      ),
    );
    expect(err.code).toBe(Code.Unavailable);
  });

  it("refreshes assumed credentials before they expire", async () => {
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    // 3 s sessions are refreshed once less than half their life is left: after 1.5 s, well
    // before the fake starts refusing them at 3 s.
    aws.sts.credentialLifetimeSeconds = 3;
    const a = access({ assumeRole: "spire-reader" });
    await a.describeInstance(OTHER, REGION, theirs.instanceId);
    await new Promise((r) => setTimeout(r, 1_600));
    await a.describeInstance(OTHER, REGION, theirs.instanceId);
    expect(aws.server.calls.count({ service: "sts", action: "AssumeRole" })).toBe(2);
    expect(aws.server.calls.count({ service: "ec2", outcome: "error" })).toBe(0);
  });

  it("caches instance profiles per ARN with single flight; the name is the last path segment", async () => {
    const profile = aws.world.addInstanceProfile({
      account: ACCOUNT,
      name: "web",
      path: "/team/a/",
      roles: ["WebRole"],
    });
    const metrics = recordingMetrics();
    const counted = (key: string, labels: Record<string, string>): number =>
      metrics.calls
        .filter(
          (c) => c.kind === "counter" && c.key === key && JSON.stringify(c.labels) === JSON.stringify(labels),
        )
        .reduce((sum, c) => sum + c.value, 0);
    const a = access({ metrics });
    const all = await Promise.all(
      Array.from({ length: 50 }, () => a.getInstanceProfileRoles(ACCOUNT, REGION, profile.arn)),
    );
    expect(new Set(all.map((r) => r.join()))).toEqual(new Set([`arn:aws:iam::${ACCOUNT}:role/WebRole`]));
    await a.getInstanceProfileRoles(ACCOUNT, REGION, profile.arn);
    expect(aws.server.calls.count({ service: "iam", action: "GetInstanceProfile" })).toBe(1);
    expect(counted("aws.cache.hit", { cache: "instance_profile" })).toBe(50);
    expect(counted("aws.cache.miss", { cache: "instance_profile" })).toBe(1);
    expect(counted("aws.call", { api: "GetInstanceProfile", outcome: "ok" })).toBe(1);

    aws.server.calls.reset();
    const uncached = access({ instanceProfileCacheTtlMs: 0 });
    await Promise.all(
      Array.from({ length: 5 }, () => uncached.getInstanceProfileRoles(ACCOUNT, REGION, profile.arn)),
    );
    expect(aws.server.calls.count({ service: "iam", action: "GetInstanceProfile" })).toBe(5);
  });

  it("does not cache failures, and a deleted profile is PermissionDenied", async () => {
    const profile = aws.world.addInstanceProfile({ account: ACCOUNT, name: "flaky", roles: ["R"] });
    aws.server.faults.add({ service: "iam", times: 1 }, { kind: "status", status: 500 });
    const a = access({ maxAttempts: 1 });
    expect((await rejection(a.getInstanceProfileRoles(ACCOUNT, REGION, profile.arn))).code).toBe(
      Code.Unavailable,
    );
    expect(await a.getInstanceProfileRoles(ACCOUNT, REGION, profile.arn)).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/R`,
    ]);
    const missing = `arn:aws:iam::${ACCOUNT}:instance-profile/deleted`;
    const err = await rejection(a.getInstanceProfileRoles(ACCOUNT, REGION, missing));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain(missing);
  });

  it("checks EKS cluster membership through node groups and Auto Scaling, cached per account/region/cluster", async () => {
    const nodes = aws.world.addInstances(3, { account: ACCOUNT, region: REGION });
    const stranger = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.world.addAutoScalingGroup({
      account: ACCOUNT,
      region: REGION,
      name: "ng-a",
      instanceIds: [nodes[0]!.instanceId],
    });
    aws.world.addAutoScalingGroup({
      account: ACCOUNT,
      region: REGION,
      name: "ng-b",
      instanceIds: nodes.slice(1).map((n) => n.instanceId),
    });
    aws.world.addEksCluster({
      account: ACCOUNT,
      region: REGION,
      name: "prod",
      nodegroups: [
        { name: "a", autoScalingGroups: ["ng-a"] },
        { name: "b", autoScalingGroups: ["ng-b"] },
      ],
    });
    const a = access();
    for (const n of nodes)
      expect(await a.isEksClusterMember(ACCOUNT, REGION, n.instanceId, ["prod"])).toBe(true);
    expect(aws.server.calls.count({ service: "eks", action: "ListNodegroups" })).toBe(1);
    expect(aws.server.calls.count({ service: "eks", action: "DescribeNodegroup" })).toBe(2);
    expect(aws.server.calls.count({ service: "autoscaling", action: "DescribeAutoScalingGroups" })).toBe(1);
    // Not a member: the set was fetched just now, so no refresh storm.
    expect(await a.isEksClusterMember(ACCOUNT, REGION, stranger.instanceId, ["prod"])).toBe(false);
    expect(aws.server.calls.count({ service: "eks", action: "ListNodegroups" })).toBe(1);
    // Unknown cluster, and the same cluster name in another account: separate, empty sets.
    expect(await a.isEksClusterMember(ACCOUNT, REGION, nodes[0]!.instanceId, ["nope"])).toBe(false);
    const theirs = access({ assumeRole: "reader" });
    expect(await theirs.isEksClusterMember(OTHER, REGION, nodes[0]!.instanceId, ["prod"])).toBe(false);
  });

  it("never answers for one account's EKS cluster from another account's cluster of the same name", async () => {
    const ours = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    const theirs = aws.world.addInstance({ account: OTHER, region: REGION });
    for (const [account, node] of [
      [ACCOUNT, ours],
      [OTHER, theirs],
    ] as const) {
      aws.world.addAutoScalingGroup({
        account,
        region: REGION,
        name: "ng-same",
        instanceIds: [node.instanceId],
      });
      aws.world.addEksCluster({
        account,
        region: REGION,
        name: "same-name",
        nodegroups: [{ name: "ng", autoScalingGroups: ["ng-same"] }],
      });
    }
    // One access, one cache, both accounts' sets fresh in it: each account's own set decides.
    const a = access({ assumeRole: "reader" });
    expect(await a.isEksClusterMember(ACCOUNT, REGION, ours.instanceId, ["same-name"])).toBe(true);
    expect(await a.isEksClusterMember(OTHER, REGION, ours.instanceId, ["same-name"])).toBe(false);
    expect(await a.isEksClusterMember(OTHER, REGION, theirs.instanceId, ["same-name"])).toBe(true);
    expect(await a.isEksClusterMember(ACCOUNT, REGION, theirs.instanceId, ["same-name"])).toBe(false);
    expect(aws.server.calls.count({ service: "eks", action: "ListNodegroups" })).toBe(2);
  });

  it("treats EKS answers without their lists as AWS faults (Unavailable), not as 'not in the cluster'", async () => {
    const node = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.world.addAutoScalingGroup({
      account: ACCOUNT,
      region: REGION,
      name: "ng-e",
      instanceIds: [node.instanceId],
    });
    aws.world.addEksCluster({
      account: ACCOUNT,
      region: REGION,
      name: "edge",
      nodegroups: [{ name: "e", autoScalingGroups: ["ng-e"] }],
    });
    const empty = { kind: "body", status: 200, body: "{}", contentType: "application/json" } as const;
    aws.server.faults.add({ service: "eks", action: "ListNodegroups", times: 1 }, empty);
    await expect(
      access().isEksClusterMember(ACCOUNT, REGION, node.instanceId, ["edge"]),
    ).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    aws.server.faults.add({ service: "eks", action: "DescribeNodegroup", times: 1 }, empty);
    await expect(
      access().isEksClusterMember(ACCOUNT, REGION, node.instanceId, ["edge"]),
    ).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    expect(await access().isEksClusterMember(ACCOUNT, REGION, node.instanceId, ["edge"])).toBe(true);
  });

  it("keeps a caller's deadline even when the shared call hangs", async () => {
    const inst = aws.world.addInstance({ account: ACCOUNT, region: REGION });
    aws.server.faults.add({ service: "ec2", action: "DescribeInstances" }, { kind: "hang" });
    const controller = new AbortController();
    const pending = access({ callTimeoutMs: 10_000 }).describeInstance(
      ACCOUNT,
      REGION,
      inst.instanceId,
      controller.signal,
    );
    setTimeout(() => controller.abort(streamCancelled()), 50);
    const err = await rejection(pending);
    expect(err.code).toBe(Code.Cancelled);
    expect(err.message).toBe("attestation cancelled");
  });
});
