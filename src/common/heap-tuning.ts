/**
 * Young-generation cap for the plugin process. V8 sizes its young generation by the machine's
 * memory: on a host with 24 GB, Node 24 lets it grow to two 64 MiB semi-spaces under the
 * allocation rate of an attestation storm, and keeps them. Measured (10,000 attestations at
 * c64, instant AWS fakes, two plugin processes alternating in one run): 372 MiB RSS without a
 * cap, 252 MiB with 8 MiB semi-spaces, CPU per attestation unchanged (0.77 vs 0.78 ms); 4 MiB
 * cost 9% more CPU, 1 MiB 17% (objects of attestations in flight get promoted and collected
 * again by the old generation).
 *
 * `--max-semi-space-size` is read only when the heap is created, and SPIRE starts the plugin
 * as `plugin_cmd` without node options. `--semi-space-growth-factor` is read at each growth,
 * so the cap is set at run time: the young generation grows as V8 decides until it reaches
 * the cap, then the growth factor becomes 1 (checked on each collection's notification, which
 * Node delivers after the collection and batched, so under a synchronous burst V8 may double it
 * once or twice more first). An operator's own semi-space option in NODE_OPTIONS or on the
 * command line wins.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** Semi-space size the young generation stops growing at (it has two). */
export const SEMI_SPACE_CAP_MIB = 8;

/**
 * Caps the young generation at `semiSpaceMib` per semi-space unless the operator chose a
 * semi-space size; true when the cap was installed.
 */
export function capYoungGeneration(
  options: { execArgv: readonly string[]; nodeOptions: string | undefined },
  semiSpaceMib = SEMI_SPACE_CAP_MIB,
): boolean {
  const chosen = [...options.execArgv, ...(options.nodeOptions ?? "").split(/\s+/)].some((o) =>
    o.replaceAll("_", "-").includes("semi-space"),
  );
  if (chosen) return false;
  const capBytes = 2 * semiSpaceMib * 1024 * 1024;
  const observer = new PerformanceObserver(() => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    if (young === undefined || young.space_size < capBytes) return;
    setFlagsFromString("--semi-space-growth-factor=1");
    observer.disconnect();
  });
  observer.observe({ entryTypes: ["gc"] });
  return true;
}
