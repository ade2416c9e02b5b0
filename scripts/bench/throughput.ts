/**
 * Throughput and latency of the server plugin over gRPC (issue 9, scenario 2): the shipped
 * bundle under the SPIRE-like host, AWS fakes answering instantly (no token buckets), each
 * Attest RPC timed from the payload write to the agent attributes. At concurrency 1 and 64
 * (64 streams kept busy, like a SPIRE server during a storm).
 *
 * The host, the fakes and the plugin share the machine, so attestations/s is a floor for the
 * plugin; its own CPU time per attestation (from /proc/<pid>/stat) gives what one core could
 * do: 1,000 / cpu_ms_per_attestation. Nodes are reused round-robin: the host's AgentStore
 * never records them, so TOFU does not refuse a second attestation. Connections are replaced
 * every 900 attestations (lib/attest-client.ts says why).
 */
import { SCENARIO_ACCOUNT, type ScenarioNode, startScenario } from "../../src/testkit/scenario";
import { SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { type AttestResult, RotatingAttestClient } from "./lib/attest-client";
import { cpuMs, pluginCommand, quantile, round } from "./lib/common";

const NODES = 500;
const WARMUP = 1_000;
const SERIAL = 1_000;
const CONCURRENT = 6_400;

interface LoadResult {
  concurrency: number;
  attestations: number;
  failures: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  pluginCpuMsPerAttestation: number;
}

async function load(
  host: SpireHost,
  client: RotatingAttestClient,
  nodes: readonly ScenarioNode[],
  total: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: AttestResult | undefined;
  let next = 0;
  const pid = host.child.pid ?? 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const node = nodes[next++ % nodes.length]!;
      const s = performance.now();
      const outcome = await client.attest(node.payload);
      latencies.push(performance.now() - s);
      if (!outcome.ok) {
        failures += 1;
        firstFailure ??= outcome;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  if (firstFailure !== undefined && !firstFailure.ok) {
    throw new Error(`${failures} attestations failed, first: ${firstFailure.details}`);
  }
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    attestations: total,
    failures,
    perSecond: Math.round((total * 1000) / wall),
    p50Ms: round(quantile(latencies, 0.5), 2),
    p99Ms: round(quantile(latencies, 0.99), 2),
    maxMs: round(latencies[latencies.length - 1] ?? Number.NaN, 2),
    pluginCpuMsPerAttestation: round(cpu / total, 3),
  };
}

export async function run(): Promise<BenchResult> {
  const scenario = await startScenario({ ec2RateLimits: [] });
  const host = await SpireHost.start({ ...pluginCommand(), side: "server", env: scenario.env() });
  try {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "nodes",
      roles: ["NodeRole"],
    });
    const nodes = Array.from({ length: NODES }, (_, i) =>
      scenario.addNode({ profileArn: profile.arn, tags: { Name: `node-${i}`, team: "bench" } }),
    );
    await host.init();
    await host.configure(scenario.pluginData());
    const client = new RotatingAttestClient(host);
    await load(host, client, nodes, WARMUP, 16);
    const serial = await load(host, client, nodes, SERIAL, 1);
    const concurrent = await load(host, client, nodes, CONCURRENT, 64);
    client.close();
    return {
      name: "throughput",
      description:
        "Attest RPCs to dist/spire-aws-iid through the SPIRE-like host, instant AWS fakes, latency from payload write to attributes",
      metrics: {
        c1_per_s: serial.perSecond,
        c1_p50_ms: serial.p50Ms,
        c1_p99_ms: serial.p99Ms,
        c64_per_s: concurrent.perSecond,
        c64_p50_ms: concurrent.p50Ms,
        c64_p99_ms: concurrent.p99Ms,
        plugin_cpu_ms_per_attest: concurrent.pluginCpuMsPerAttestation,
        one_core_per_s: Math.round(1000 / concurrent.pluginCpuMsPerAttestation),
      },
      serial,
      concurrent,
      goal: "p99 < 5 ms at concurrency 64; ≥ 1,000 attestations/s on one core",
    };
  } finally {
    await host.unload();
    await scenario.close();
  }
}
