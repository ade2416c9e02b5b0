/**
 * Lone attestations at a steady 5/s (issue 18): what one agent booting at a time sees. Two
 * plugin processes in the same run, attested alternately every 100 ms (so each gets 5/s):
 * the defaults (DescribeInstances budget, describe_instances_batch_window 200 ms) and the
 * unbatched path (`describe_instances_batch_window = "0s"`, one call per attestation). Both
 * keep the instance profile cache, so the only difference is the DescribeInstances budget.
 * Latency from the payload write to the agent attributes, through the SPIRE-like host, with
 * instant AWS fakes. Goal: p50 with the defaults ≤ 1.5 × the unbatched p50.
 */
import { SCENARIO_ACCOUNT, startScenario } from "../../src/testkit/scenario";
import { SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { pluginCommand, quantile, round } from "./lib/common";

const PER_PLUGIN = 100;
const INTERVAL_MS = 100;

export async function run(): Promise<BenchResult> {
  const scenario = await startScenario({ ec2RateLimits: [] });
  const start = async (extraHcl: string): Promise<SpireHost> => {
    const host = await SpireHost.start({ ...pluginCommand(), side: "server", env: scenario.env() });
    await host.init();
    await host.configure(scenario.pluginData(extraHcl));
    return host;
  };
  const hosts = [await start(""), await start('describe_instances_batch_window = "0s"')];
  try {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "nodes",
      roles: ["NodeRole"],
    });
    const nodes = Array.from({ length: 20 }, () => scenario.addNode({ profileArn: profile.arn }));
    // Warm-up: the SDK loads on first use, the profile cache fills.
    for (const host of hosts) for (const node of nodes.slice(0, 5)) await host.attest(node.payload);
    await new Promise((r) => setTimeout(r, 1_000));

    const latencies: number[][] = [[], []];
    let failures = 0;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < 2 * PER_PLUGIN; i++) {
      const which = i % 2;
      const host = hosts[which]!;
      const node = nodes[i % nodes.length]!;
      const t0 = performance.now();
      inFlight.push(
        host.attest(node.payload).then((outcome) => {
          latencies[which]!.push(performance.now() - t0);
          if (!outcome.ok) failures += 1;
        }),
      );
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    await Promise.all(inFlight);
    const [budget, unbatched] = latencies.map((l) => [...l].sort((a, b) => a - b)) as [number[], number[]];
    const p50 = round(quantile(budget, 0.5), 2);
    const p50Unbatched = round(quantile(unbatched, 0.5), 2);
    return {
      name: "lone",
      description: `${PER_PLUGIN} lone attestations at 5/s to each of two dist/spire-aws-iid processes, alternating every ${INTERVAL_MS} ms: defaults vs describe_instances_batch_window = "0s", instant AWS fakes`,
      metrics: {
        p50_ms: p50,
        p90_ms: round(quantile(budget, 0.9), 2),
        unbatched_p50_ms: p50Unbatched,
        unbatched_p90_ms: round(quantile(unbatched, 0.9), 2),
        p50_ratio: round(p50 / p50Unbatched, 2),
        failures,
      },
      goal: "p50 with the defaults ≤ 1.5 × the unbatched p50",
      goalMet: failures === 0 && p50 <= 1.5 * p50Unbatched,
    };
  } finally {
    for (const host of hosts) await host.unload();
    await scenario.close();
  }
}
