/**
 * Boot storm through the real server plugin (issue 9, scenario 1): an Auto Scaling group
 * launches 1,000 instances in one account and region and every agent attests at once. The
 * shipped bundle runs under the SPIRE-like host (gRPC over go-plugin, AgentStore and Metrics
 * host services), reaching the loopback AWS fakes through AWS_ENDPOINT_URL, with AWS's EC2
 * token bucket (Describe*: burst 100, refill 20/s per account and region). All 1,000 share
 * one instance profile, as ASG instances do.
 *
 * Two plugin processes in the same run:
 * - plugin: default configuration (DescribeInstances batching, instance profile cache);
 * - spire-pattern: `describe_instances_batch_window = "0s"` and
 *   `instance_profile_cache_ttl = "0s"`, i.e. one DescribeInstances and one GetInstanceProfile
 *   per attestation, like SPIRE's built-in aws_iid.
 *
 * A failed attestation is counted once; a real agent would retry 5 s later and add calls.
 *
 * Then memory under a larger storm (issue 18): a fresh plugin process with the defaults gets
 * 5,000 Attest RPCs at once (over connections of 900 streams, lib/attest-client.ts says why);
 * its peak RSS is VmHWM from /proc/<pid>/status. Goal ≤ 200 MiB.
 */

import {
  SCENARIO_ACCOUNT,
  type Scenario,
  type ScenarioNode,
  startScenario,
} from "../../src/testkit/scenario";
import { SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { RotatingAttestClient } from "./lib/attest-client";
import { cpuMs, peakRssMb, pluginCommand, round, rssMb } from "./lib/common";

const INSTANCES = 1_000;
const BIG_STORM = 5_000;

interface PhaseResult {
  config: string;
  attestations: number;
  failures: number;
  failureCodes: Record<string, number>;
  firstFailure?: string;
  awsCalls: Record<string, { total: number; ok: number; throttled: number; other: number }>;
  ec2IamCalls: number;
  throttled: number;
  /** From the first Attest sent to the last answer. */
  allDoneMs: number;
  /** From the last Attest sent to the last answer (issue 9: within 5 s of the last launch). */
  afterLastSentMs: number;
  pluginCpuMs: number;
}

async function phase(
  scenario: Scenario,
  nodes: readonly ScenarioNode[],
  warmup: ScenarioNode,
  extraHcl: string,
): Promise<PhaseResult> {
  const host = await SpireHost.start({
    ...pluginCommand(),
    side: "server",
    env: scenario.env(),
  });
  try {
    await host.init();
    await host.configure(scenario.pluginData(extraHcl));
    // Warm-up with an instance that has no profile: loads the lazily-required AWS SDK and
    // opens the connection without filling the instance profile cache.
    const warm = await host.attest(warmup.payload);
    if (!warm.ok) throw new Error(`warm-up attestation failed: ${warm.details}`);

    const calls = scenario.aws.server.calls;
    scenario.aws.server.resetRateLimits();
    calls.reset();
    const cpuBefore = cpuMs(host.child.pid ?? 0);
    const failureCodes: Record<string, number> = {};
    let failures = 0;
    let firstFailure: string | undefined;
    let lastDone = 0;
    const t0 = performance.now();
    const pending = nodes.map((n) =>
      host.attest(n.payload).then((outcome) => {
        lastDone = performance.now();
        if (!outcome.ok) {
          failures += 1;
          failureCodes[String(outcome.code)] = (failureCodes[String(outcome.code)] ?? 0) + 1;
          firstFailure ??= outcome.details;
        }
      }),
    );
    const lastSent = performance.now();
    await Promise.all(pending);
    const awsCalls = calls.summary();
    const ec2Iam = Object.entries(awsCalls).filter(([k]) => k.startsWith("ec2:") || k.startsWith("iam:"));
    return {
      config: extraHcl === "" ? "defaults" : extraHcl.replace(/\n/g, "; "),
      attestations: nodes.length,
      failures,
      failureCodes,
      ...(firstFailure === undefined ? {} : { firstFailure }),
      awsCalls,
      ec2IamCalls: ec2Iam.reduce((n, [, v]) => n + v.total, 0),
      throttled: ec2Iam.reduce((n, [, v]) => n + v.throttled, 0),
      allDoneMs: Math.round(lastDone - t0),
      afterLastSentMs: Math.round(lastDone - lastSent),
      pluginCpuMs: cpuMs(host.child.pid ?? 0) - cpuBefore,
    };
  } finally {
    await host.unload();
  }
}

interface BigStormResult {
  attestations: number;
  failures: number;
  firstFailure?: string;
  ec2IamCalls: number;
  allDoneMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  rssAfterMb: number;
}

async function bigStorm(scenario: Scenario, nodes: readonly ScenarioNode[]): Promise<BigStormResult> {
  const host = await SpireHost.start({ ...pluginCommand(), side: "server", env: scenario.env() });
  const pid = host.child.pid ?? 0;
  try {
    await host.init();
    await host.configure(scenario.pluginData());
    const client = new RotatingAttestClient(host);
    const warm = await client.attest(scenario.addNode().payload);
    if (!warm.ok) throw new Error(`warm-up attestation failed: ${warm.details}`);
    scenario.aws.server.resetRateLimits();
    scenario.aws.server.calls.reset();
    const rssBefore = rssMb(pid);
    let failures = 0;
    let firstFailure: string | undefined;
    const t0 = performance.now();
    await Promise.all(
      nodes.map((n) =>
        client.attest(n.payload).then((outcome) => {
          if (!outcome.ok) {
            failures += 1;
            firstFailure ??= outcome.details;
          }
        }),
      ),
    );
    const allDoneMs = Math.round(performance.now() - t0);
    const peak = peakRssMb(pid);
    client.close();
    const summary = scenario.aws.server.calls.summary();
    return {
      attestations: nodes.length,
      failures,
      ...(firstFailure === undefined ? {} : { firstFailure }),
      ec2IamCalls: Object.entries(summary)
        .filter(([k]) => k.startsWith("ec2:") || k.startsWith("iam:"))
        .reduce((n, [, v]) => n + v.total, 0),
      allDoneMs,
      rssBeforeMb: rssBefore,
      peakRssMb: peak,
      rssAfterMb: rssMb(pid),
    };
  } finally {
    await host.unload();
  }
}

export async function run(): Promise<BenchResult> {
  const scenario = await startScenario();
  try {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "asg-nodes",
      roles: ["NodeRole"],
    });
    const nodes = Array.from({ length: INSTANCES }, () =>
      scenario.addNode({ profileArn: profile.arn, tags: { "aws:autoscaling:groupName": "storm" } }),
    );
    const warmup = scenario.addNode();
    const plugin = await phase(scenario, nodes, warmup, "");
    const spire = await phase(
      scenario,
      nodes,
      warmup,
      'describe_instances_batch_window = "0s"\ninstance_profile_cache_ttl = "0s"',
    );
    const ratio = round(spire.ec2IamCalls / Math.max(1, plugin.ec2IamCalls));
    const big = await bigStorm(
      scenario,
      Array.from({ length: BIG_STORM }, () =>
        scenario.addNode({ profileArn: profile.arn, tags: { "aws:autoscaling:groupName": "storm" } }),
      ),
    );
    return {
      name: "attest-storm",
      description: `${INSTANCES} concurrent Attest RPCs to dist/spire-aws-iid through the SPIRE-like host, fake EC2 with AWS's Describe* bucket (100, 20/s), defaults vs SPIRE's call pattern`,
      metrics: {
        ec2_iam_calls: plugin.ec2IamCalls,
        failures: plugin.failures,
        all_done_ms: plugin.allDoneMs,
        spire_ec2_iam_calls: spire.ec2IamCalls,
        spire_failures: spire.failures,
        spire_all_done_ms: spire.allDoneMs,
        call_ratio: ratio,
        storm5k_peak_rss_mb: big.peakRssMb,
        storm5k_failures: big.failures,
        storm5k_ec2_iam_calls: big.ec2IamCalls,
      },
      instances: INSTANCES,
      plugin,
      spirePattern: spire,
      bigStorm: big,
      goal: "≤ 20 EC2/IAM calls for 1,000 instances, 0 failures, all done within 5 s of the last launch; peak RSS ≤ 200 MiB in a 5,000-instance storm",
      goalMet:
        plugin.ec2IamCalls <= 20 &&
        plugin.failures === 0 &&
        plugin.afterLastSentMs <= 5_000 &&
        big.failures === 0 &&
        big.peakRssMb <= 200,
    };
  } finally {
    await scenario.close();
  }
}
