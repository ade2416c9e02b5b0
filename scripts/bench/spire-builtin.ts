/**
 * SPIRE's built-in aws_iid vs this plugin, inside the real spire-server and spire-agent 1.13.3
 * (test/spire: built from the Go module proxy on first use), on the same real AWS-signed nodes
 * served by the same loopback fakes, with the same plugin_data (static keys + assume_role into
 * each node's account). test/spire/side-by-side.ts runs one server and its agents per round.
 *
 * - one node: the taskcluster instance (rsa2048 + signature), ROUNDS rounds per implementation,
 *   alternating so load drift hits both alike;
 * - storm: every real node the repository holds, all agents started at once (the built-in
 *   accepts only documents AWS signed, so this is the largest storm both can attest).
 *
 * The wall time is SPIRE's, end to end: from spawning spire-agent to its "Node attestation was
 * successful" (agent start, plugin launch on both sides, IMDS, TLS, Attest, AWS calls, SVID).
 */

import { ensureSpireBinaries } from "../../test/spire/build";
import { realNodes } from "../../test/spire/real-nodes";
import { attestSideBySide, type Implementation, type SideBySideRun } from "../../test/spire/side-by-side";
import type { BenchResult } from "../bench";
import { bundlePath, quantile, round } from "./lib/common";

const ROUNDS = 5;
const IMPLEMENTATIONS: readonly Implementation[] = ["builtin", "plugin"];

function median(values: readonly number[]): number {
  return round(
    quantile(
      [...values].sort((a, b) => a - b),
      0.5,
    ),
  );
}

export async function run(): Promise<BenchResult> {
  ensureSpireBinaries((l) => process.stderr.write(`${l}\n`));
  const nodes = realNodes();
  const single = nodes.find((n) => n.name.startsWith("taskcluster")) ?? nodes[0]!;
  const options = { pluginSource: bundlePath() };

  const singleRuns: Record<Implementation, SideBySideRun[]> = { builtin: [], plugin: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const impl of IMPLEMENTATIONS)
      singleRuns[impl].push(await attestSideBySide(impl, [single], options));
  }
  const storm: Partial<Record<Implementation, SideBySideRun>> = {};
  for (const impl of IMPLEMENTATIONS) storm[impl] = await attestSideBySide(impl, nodes, options);

  const metrics: Record<string, number> = {};
  const detail: Record<string, unknown> = {};
  for (const impl of IMPLEMENTATIONS) {
    const runs = singleRuns[impl];
    metrics[`${impl}_one_node_ms`] = median(runs.map((x) => x.nodes[0]!.ms));
    const s = storm[impl]!;
    metrics[`${impl}_storm_all_ms`] = round(s.totalMs);
    metrics[`${impl}_storm_aws_calls`] = Object.values(s.awsCalls).reduce((a, b) => a + b, 0);
    detail[impl] = {
      oneNode: {
        msPerRound: runs.map((x) => round(x.nodes[0]!.ms)),
        awsCallsPerRound: runs.map((x) => x.awsCalls),
      },
      storm: {
        agents: s.nodes.length,
        allAttestedMs: round(s.totalMs),
        perAgentMs: s.nodes.map((n) => round(n.ms)),
        awsCalls: s.awsCalls,
        leftoverPlugins: s.leftoverPlugins,
      },
    };
  }
  return {
    name: "spire-builtin",
    description:
      "real spire-server/agent 1.13.3: built-in aws_iid vs the plugin, same real AWS-signed nodes and fakes; agent spawn -> SVID wall time and the server's AWS calls",
    runs: ROUNDS,
    stormAgents: nodes.length,
    nodes: nodes.map((n) => n.name),
    metrics,
    ...detail,
  };
}
