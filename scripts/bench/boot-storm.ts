/**
 * Boot storm (issue 9): an Auto Scaling group launches 1,000 instances in one account and
 * region and every agent attests at once. Each attestation needs DescribeInstances for its
 * instance and the roles of its instance profile. Measured against the loopback EC2/IAM
 * fakes with AWS's EC2 token bucket (Describe*: burst 100, refill 20/s per account and
 * region), in the same run:
 *
 * - plugin: batching (default pacing window, ≤ 200 IDs per call) and the instance profile cache;
 * - spire-pattern: batching and caching off — one DescribeInstances and one
 *   GetInstanceProfile per attestation, like SPIRE's built-in aws_iid — with the same SDK
 *   retry settings (standard, 4 attempts, 20 s timeout);
 * - spire-pattern-adaptive: the same with the SDK's adaptive retry mode, to show what it
 *   buys under a storm (the choice of "standard" is argued in src/aws/clients.ts).
 *
 * A failed attestation is counted once (SPIRE agents would retry 5 s later and add more
 * calls). IAM publishes no rate limits, so the IAM fake does not throttle: SPIRE's IAM calls
 * are counted, not penalised.
 *
 * Run alone: npx tsx scripts/bench/boot-storm.ts
 */
import { type AwsAccessOptions, createAwsAccess } from "../../src/aws";
import { isPluginError } from "../../src/common/errors";
import { FakeAws } from "../../src/testkit/aws-fake";
import { defaultAwsSettings } from "../../src/testkit/config-defaults";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const INSTANCES = 1_000;

interface PhaseResult {
  attestations: number;
  failures: number;
  failureCodes: Record<string, number>;
  awsCalls: Record<string, { total: number; ok: number; throttled: number; other: number }>;
  ec2IamCalls: number;
  wallMs: number;
}

async function phase(
  aws: FakeAws,
  options: AwsAccessOptions,
  profileArns: Map<string, string>,
): Promise<PhaseResult> {
  aws.server.resetRateLimits();
  aws.server.calls.reset();
  const access = createAwsAccess({ ...options, endpoint: aws.url, partition: "aws" });
  const failureCodes: Record<string, number> = {};
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    [...profileArns.keys()].map(async (instanceId) => {
      try {
        const instance = await access.describeInstance(ACCOUNT, REGION, instanceId);
        const arn = instance.IamInstanceProfile?.Arn;
        if (arn !== undefined) await access.getInstanceProfileRoles(ACCOUNT, REGION, arn);
      } catch (err) {
        failures += 1;
        const code = isPluginError(err) ? String(err.code) : "thrown";
        failureCodes[code] = (failureCodes[code] ?? 0) + 1;
      }
    }),
  );
  const wallMs = Math.round(performance.now() - started);
  await access.close();
  const awsCalls = aws.server.calls.summary();
  const ec2IamCalls = Object.entries(awsCalls)
    .filter(([k]) => k.startsWith("ec2:") || k.startsWith("iam:"))
    .reduce((n, [, v]) => n + v.total, 0);
  return { attestations: profileArns.size, failures, failureCodes, awsCalls, ec2IamCalls, wallMs };
}

export async function run(): Promise<{ name: string; [k: string]: unknown }> {
  const aws = await FakeAws.start();
  try {
    const creds = aws.baseCredentials(ACCOUNT);
    const profile = aws.world.addInstanceProfile({
      account: ACCOUNT,
      name: "asg-nodes",
      roles: ["NodeRole"],
    });
    const launched = aws.world.addInstances(INSTANCES, {
      account: ACCOUNT,
      region: REGION,
      profileArn: profile.arn,
      tags: { "aws:autoscaling:groupName": "storm" },
    });
    const byId = new Map(launched.map((i) => [i.instanceId, profile.arn]));
    const common: AwsAccessOptions = { ...defaultAwsSettings(), ...creds, maxAttempts: 4 };

    // Warm-up: load the SDK modules (lazy by design) so that no phase pays for them.
    const warm = aws.world.addInstance({ account: ACCOUNT, region: REGION, profileArn: profile.arn });
    await phase(aws, { ...common }, new Map([[warm.instanceId, profile.arn]]));

    const plugin = await phase(aws, { ...common }, byId);
    const spire = await phase(
      aws,
      { ...common, describeBatchWindowMs: 0, instanceProfileCacheTtlMs: 0 },
      byId,
    );
    const spireAdaptive = await phase(
      aws,
      { ...common, describeBatchWindowMs: 0, instanceProfileCacheTtlMs: 0, retryMode: "adaptive" },
      byId,
    );
    return {
      name: "boot-storm",
      description:
        "AWS access layer alone (no plugin): 1,000 concurrent instance + profile lookups, defaults vs SPIRE's call pattern",
      metrics: {
        ec2_iam_calls: plugin.ec2IamCalls,
        failures: plugin.failures,
        wall_ms: plugin.wallMs,
        spire_ec2_iam_calls: spire.ec2IamCalls,
        spire_failures: spire.failures,
        spire_adaptive_failures: spireAdaptive.failures,
      },
      instances: INSTANCES,
      ec2Bucket:
        "Describe* burst 100, refill 20/s per account+region (unfiltered DescribeInstances 50, 10/s)",
      plugin,
      spirePattern: spire,
      spirePatternAdaptive: spireAdaptive,
      callRatio: Math.round((spire.ec2IamCalls / Math.max(1, plugin.ec2IamCalls)) * 10) / 10,
      goal: "≤ 20 EC2/IAM calls for 1,000 instances, 0 failures",
      goalMet: plugin.ec2IamCalls <= 20 && plugin.failures === 0,
    };
  } finally {
    await aws.close();
  }
}

if (process.argv[1]?.endsWith("boot-storm.ts")) {
  run().then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
