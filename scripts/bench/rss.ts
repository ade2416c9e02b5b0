/**
 * Memory of the plugin process (issue 9, scenario 5): VmRSS of dist/spire-aws-iid (from
 * /proc/<pid>/status) after start, after Configure, and every 2,000 attestations up to 10,000,
 * instant AWS fakes, 64 attestations in flight (the defaults: DescribeInstances budgeted). Flat after warm-up means the samples from 4k
 * on stay within a few MB of each other (V8 grows its heap lazily, so the first thousands
 * include JIT code and the AWS SDK, which is loaded on first use). Distinct nodes, so caches
 * keyed by instance or agent ID would show up as growth.
 */
import { SCENARIO_ACCOUNT, startScenario } from "../../src/testkit/scenario";
import { SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { RotatingAttestClient } from "./lib/attest-client";
import { heapSnapshot, pluginCommand, round, rssMb } from "./lib/common";

const TOTAL = 10_000;
const SAMPLE_EVERY = 2_000;
const CONCURRENCY = 64;
const NODES = 2_000;

export async function run(): Promise<BenchResult> {
  const scenario = await startScenario({ ec2RateLimits: [] });
  const host = await SpireHost.start({ ...pluginCommand(), side: "server", env: scenario.env() });
  const pid = host.child.pid ?? 0;
  try {
    const afterStart = rssMb(pid);
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "nodes",
      roles: ["NodeRole"],
    });
    const nodes = Array.from({ length: NODES }, (_, i) =>
      scenario.addNode({ profileArn: profile.arn, tags: { Name: `node-${i}` } }),
    );
    await host.init();
    await host.configure(scenario.pluginData());
    const afterConfigure = rssMb(pid);
    const client = new RotatingAttestClient(host);
    const samples: { attestations: number; rssMb: number }[] = [];
    let done = 0;
    let failures = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const node = nodes[next++ % nodes.length]!;
        const outcome = await client.attest(node.payload);
        if (!outcome.ok) failures += 1;
        done += 1;
        if (done % SAMPLE_EVERY === 0) samples.push({ attestations: done, rssMb: rssMb(pid) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await heapSnapshot(pid);
    client.close();
    const steady = samples.filter((s) => s.attestations >= 4_000).map((s) => s.rssMb);
    const last = samples[samples.length - 1]?.rssMb ?? Number.NaN;
    return {
      name: "rss",
      description: `VmRSS of dist/spire-aws-iid after start, after Configure and every ${SAMPLE_EVERY} of ${TOTAL} attestations (${NODES} distinct nodes, ${CONCURRENCY} in flight, instant AWS)`,
      metrics: {
        start_mb: afterStart,
        configured_mb: afterConfigure,
        after_10k_mb: last,
        spread_4k_10k_mb: round(Math.max(...steady) - Math.min(...steady)),
        failures,
      },
      samples,
      goal: "≤ 120 MiB RSS after 10,000 attestations at c64, flat after warm-up",
    };
  } finally {
    await host.unload();
    await scenario.close();
  }
}
