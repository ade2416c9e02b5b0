/**
 * SPIRE's built-in aws_iid vs this plugin, inside the real spire-server and spire-agent 1.13.3
 * (test/spire: built from the Go module proxy on first use), on the same real AWS-signed node
 * served by the same loopback fakes, with the same plugin_data (static keys + assume_role into
 * the node's account). test/spire/side-by-side.ts runs one server and its agents per round.
 *
 * - one node: ROUNDS rounds per implementation, alternating so load drift hits both alike;
 * - storm: STORM_AGENTS spire-agents started at once, all presenting the node (the only real
 *   instance the repository holds with every form IMDS serves, and the built-in accepts only
 *   documents AWS signed): one is accepted, the others refused by TOFU and exit.
 *
 * The wall time is SPIRE's, end to end: from spawning spire-agent to its "Node attestation was
 * successful" (agent start, plugin launch, IMDS, TLS, Attest, AWS calls, SVID) or, refused, its
 * exit. BENCH_SPIRE_STORM overrides the storm size.
 */
import { ensureSpireBinaries } from "../../test/spire/build";
import { realNodes } from "../../test/spire/real-nodes";
import { attestSideBySide, type Implementation, type SideBySideRun } from "../../test/spire/side-by-side";
import type { BenchResult } from "../bench";
import { bundlePath, quantile, round } from "./lib/common";

const ROUNDS = 5;
/** Ran well within the per-agent bound on 2 busy cores with both implementations (BENCHMARKS.md). */
const STORM_AGENTS = Number(process.env.BENCH_SPIRE_STORM ?? 20);
const IMPLEMENTATIONS: readonly Implementation[] = ["builtin", "plugin"];

function median(values: readonly number[]): number {
  return round(
    quantile(
      [...values].sort((a, b) => a - b),
      0.5,
    ),
  );
}

const totalCalls = (r: SideBySideRun): number => Object.values(r.awsCalls).reduce((a, b) => a + b, 0);

export async function run(): Promise<BenchResult> {
  ensureSpireBinaries((l) => process.stderr.write(`${l}\n`));
  const [node] = realNodes();
  if (node === undefined) throw new Error("no real node in test/vectors/testdata/aws-iid");
  const options = { pluginSource: bundlePath() };

  const single: Record<Implementation, SideBySideRun[]> = { builtin: [], plugin: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const impl of IMPLEMENTATIONS) single[impl].push(await attestSideBySide(impl, node, options));
  }
  const storm: Partial<Record<Implementation, SideBySideRun>> = {};
  for (const impl of IMPLEMENTATIONS) {
    storm[impl] = await attestSideBySide(impl, node, { ...options, agents: STORM_AGENTS });
  }

  const metrics: Record<string, number> = {};
  const detail: Record<string, unknown> = {};
  for (const impl of IMPLEMENTATIONS) {
    const runs = single[impl];
    const s = storm[impl]!;
    const attested = s.agents.filter((a) => a.outcome === "attested");
    metrics[`${impl}_one_node_ms`] = median(runs.map((x) => x.agents[0]!.ms));
    metrics[`${impl}_one_node_aws_calls`] = median(runs.map(totalCalls));
    metrics[`${impl}_storm_all_done_ms`] = round(s.totalMs);
    metrics[`${impl}_storm_aws_calls`] = totalCalls(s);
    detail[impl] = {
      oneNode: {
        msPerRound: runs.map((x) => round(x.agents[0]!.ms)),
        outcomes: runs.map((x) => x.agents[0]!.outcome),
        awsCalls: runs.map((x) => x.awsCalls),
      },
      storm: {
        agents: s.agents.length,
        attested: attested.length,
        refused: s.agents.length - attested.length,
        attestedMs: attested.map((a) => round(a.ms)),
        refusedMedianMs: median(s.agents.filter((a) => a.outcome === "refused").map((a) => a.ms)),
        allDoneMs: round(s.totalMs),
        awsCalls: s.awsCalls,
        leftoverPlugins: s.leftoverPlugins,
      },
    };
  }
  return {
    name: "spire-builtin",
    description:
      "real spire-server/agent 1.13.3: built-in aws_iid vs the plugin, same real AWS-signed node and fakes; agent spawn -> SVID (or exit) wall time and the server's AWS calls",
    runs: ROUNDS,
    stormAgents: STORM_AGENTS,
    node: node.name,
    metrics,
    ...detail,
  };
}
