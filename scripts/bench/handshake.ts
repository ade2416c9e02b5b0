/**
 * Spawn-to-handshake of dist/spire-aws-iid (what SPIRE waits for before its first RPC),
 * against a bare `node -e` that prints one line: the difference is our startup cost. Also
 * full load (Init + Configure) and unload (Deinit + Shutdown to exit) through the TypeScript
 * SPIRE-like host. Run `npm run build` first (npm run bench does).
 */
import { spawn } from "node:child_process";
import { SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { bundlePath, cpuMs, quantile } from "./lib/common";

const RUNS = 20;
const BUNDLE = bundlePath();

function firstLineMs(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.once("data", () => {
      const ms = performance.now() - t0;
      child.kill("SIGKILL");
      resolvePromise(ms);
    });
    child.once("error", reject);
  });
}

export async function run(): Promise<BenchResult> {
  const env = { ...process.env, NodeAttestor: "NodeAttestor", PLUGIN_PROTOCOL_VERSIONS: "1" };
  const plugin: number[] = [];
  const baseline: number[] = [];
  const load: number[] = [];
  const loadCpu: number[] = [];
  const unload: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await firstLineMs(process.execPath, ["-e", "console.log('1|1|unix|/x|grpc|')"], env));
    plugin.push(await firstLineMs(BUNDLE, ["server"], env));
    const t0 = performance.now();
    const host = await SpireHost.start({ command: BUNDLE, args: ["server"], side: "server" });
    await host.init();
    await host.configure("");
    load.push(performance.now() - t0);
    // The plugin's own CPU time to get there: what a change to the bundle costs, less swayed
    // by other processes than wall time on a shared machine.
    loadCpu.push(cpuMs(host.child.pid ?? 0));
    const exit = await host.unload();
    if (!exit.graceful) throw new Error("unload was not graceful");
    unload.push(exit.durationMs);
  }
  for (const a of [plugin, baseline, load, loadCpu, unload]) a.sort((x, y) => x - y);
  return {
    name: "handshake",
    description: `spawn of dist/spire-aws-iid server to its handshake line vs node -e printing one line; load = spawn..Configure done (wall, and the plugin's CPU time), unload = Shutdown..exit (TS host), ${RUNS} runs each`,
    runs: RUNS,
    metrics: {
      handshake_median_ms: quantile(plugin, 0.5),
      handshake_p90_ms: quantile(plugin, 0.9),
      node_baseline_median_ms: quantile(baseline, 0.5),
      node_baseline_p90_ms: quantile(baseline, 0.9),
      load_median_ms: quantile(load, 0.5),
      load_cpu_median_ms: quantile(loadCpu, 0.5),
      unload_median_ms: quantile(unload, 0.5),
    },
  };
}
