/**
 * Helpers shared by the bench scenarios. Scenarios run as esbuild bundles from a temporary
 * directory (scripts/bench.ts), so `__dirname` is not the repository: the runner passes the
 * repository root in BENCH_ROOT.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export function repoRoot(): string {
  return process.env.BENCH_ROOT ?? resolve(__dirname, "..", "..", "..");
}

/** The shipped plugin: what SPIRE's plugin_cmd points at (BENCH_PLUGIN: another build). */
export function bundlePath(): string {
  return process.env.BENCH_PLUGIN ?? join(repoRoot(), "dist", "spire-aws-iid");
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/**
 * Mean cost of a synchronous call in µs: 2,000 warm-up calls so the JIT has compiled the hot
 * paths, then batches of 500 until at least minMs have passed.
 */
export function meanMicros(
  fn: () => void,
  minMs: number,
): { us: number; opsPerSec: number; iterations: number } {
  for (let i = 0; i < 2000; i++) fn();
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  const budget = BigInt(minMs) * 1_000_000n;
  while (elapsedNs < budget) {
    for (let i = 0; i < 500; i++) fn();
    iterations += 500;
    elapsedNs = process.hrtime.bigint() - start;
  }
  const us = Number(elapsedNs) / 1000 / iterations;
  return { us, opsPerSec: 1e6 / us, iterations };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Resident set size of a process in MB, from /proc/<pid>/status (Linux). */
export function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

/** The highest resident set size the process has had so far, in MB (VmHWM). */
export function peakRssMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  if (match?.[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
  return round(Number(match[1]) / 1024);
}

/** The scripted stub plugin scripts/bench.ts builds: the runtime's floor (BENCH_STUB_PLUGIN). */
export function stubPluginPath(): string {
  const path = process.env.BENCH_STUB_PLUGIN;
  if (path === undefined || path === "")
    throw new Error("BENCH_STUB_PLUGIN is not set (run through scripts/bench.ts)");
  return path;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  // USER_HZ is 100 on every Linux the bench targets.
  return ticks * 10;
}

/**
 * How the host starts the plugin: the bundle itself, as SPIRE's plugin_cmd would. To find what
 * a missed goal costs, the plugin runs under `node` with options instead:
 * - BENCH_CPU_PROF_DIR: `--cpu-prof`, a V8 CPU profile written there when the plugin exits;
 * - BENCH_HEAP_SNAPSHOT_DIR: a heap snapshot and a diagnostic report (heap spaces, RSS)
 *   written there when a scenario calls heapSnapshot (rss.ts: after the last attestation);
 * - BENCH_PLUGIN_NODE_ARGS: more node options, space-separated (e.g. V8 heap flags to compare).
 */
export function pluginCommand(side: "server" | "agent" | "server-iam" = "server"): {
  command: string;
  args: string[];
} {
  const nodeArgs = (process.env.BENCH_PLUGIN_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  if (profDir !== undefined && profDir !== "") nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${profDir}`);
  const heapDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (heapDir !== undefined && heapDir !== "") {
    nodeArgs.push(
      `--diagnostic-dir=${heapDir}`,
      "--heapsnapshot-signal=SIGUSR2",
      "--report-on-signal",
      "--report-signal=SIGWINCH",
      `--report-directory=${heapDir}`,
    );
  }
  if (nodeArgs.length === 0) return { command: bundlePath(), args: [side] };
  return { command: process.execPath, args: [...nodeArgs, bundlePath(), side] };
}

/**
 * With BENCH_HEAP_SNAPSHOT_DIR set: asks the plugin (started through pluginCommand) for a
 * diagnostic report, then a heap snapshot (which collects garbage first, so the report comes
 * before it), and waits until both are written. Without it: nothing.
 */
export async function heapSnapshot(pid: number): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (dir === undefined || dir === "") return;
  const written = async (suffix: string, signal: NodeJS.Signals): Promise<void> => {
    const before = new Set(readdirSync(dir));
    process.kill(pid, signal);
    let size = -1;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const file = readdirSync(dir).find((f) => f.endsWith(suffix) && !before.has(f));
      if (file === undefined) continue;
      // Complete when its size stops changing.
      const now = statSync(join(dir, file)).size;
      if (now > 0 && now === size) return;
      size = now;
    }
  };
  await written(".json", "SIGWINCH");
  await written(".heapsnapshot", "SIGUSR2");
}
