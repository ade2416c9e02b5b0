/**
 * npm run bench: runs every scenario module in scripts/bench/ (or the names given on argv,
 * e.g. `tsx scripts/bench.ts handshake`). A scenario exports `run(): Promise<BenchResult>`;
 * each result is printed as one JSON line, then a summary table.
 *
 * Each scenario is bundled with esbuild (minified CommonJS, like dist/spire-aws-iid) into a
 * temporary directory and run by plain `node --expose-gc` in its own process: the product
 * ships a bundle, and tsx's module interop (getters on every import) made the HCL parse ~55 µs
 * instead of the bundle's ~35 µs. A process per scenario also keeps one scenario's heap and
 * JIT state out of the next one's figures. Scenarios that spawn the plugin spawn the shipped
 * bundle itself (npm run bench builds it first).
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, join, resolve } from "node:path";
import { build } from "esbuild";
import { buildFixturePlugin } from "../test/global-setup";
import { NODE_TARGET } from "./bundle";

// Nothing here reaches beyond loopback: the guard refuses it in this process and, through
// NODE_OPTIONS, in every process this one spawns (test/loopback-guard.cjs).
createRequire(__filename)("../test/loopback-guard.cjs");

export interface BenchResult {
  name: string;
  /** Headline figures, e.g. { median_ms: 120, p90_ms: 140 }; shown in the summary. */
  metrics?: Record<string, number>;
  /** What was measured and how, in one sentence. */
  description?: string;
  runs?: number;
  /** Scenario-specific detail, printed in the JSON line. */
  [detail: string]: unknown;
}

const ROOT = resolve(__dirname, "..");
const RESULT_PREFIX = "BENCH_RESULT ";

function machine(): Record<string, unknown> {
  const cpuInfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuInfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  return {
    nproc: cpus().length,
    cpu: model,
    memoryGB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function bundleScenario(name: string, outDir: string): Promise<string> {
  const outfile = join(outDir, `${name}.js`);
  const entry = join(ROOT, "scripts", "bench", `${name}.ts`);
  await build({
    stdin: {
      contents: [
        `import { run } from ${JSON.stringify(entry)};`,
        "run().then(",
        `  (r) => process.stdout.write(${JSON.stringify(RESULT_PREFIX)} + JSON.stringify(r) + "\\n"),`,
        "  (err) => { console.error(err); process.exit(1); },",
        ");",
      ].join("\n"),
      resolveDir: join(ROOT, "scripts", "bench"),
      loader: "ts",
      sourcefile: `${name}-entry.ts`,
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: NODE_TARGET,
    minify: true,
    external: ["@grpc/proto-loader", "esbuild"],
    legalComments: "none",
    logLevel: "warning",
  });
  return outfile;
}

function runScenario(file: string): Promise<BenchResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", file], {
      env: {
        ...process.env,
        BENCH_ROOT: ROOT,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${basename(file)} exited with ${code ?? signal}\n${out}`));
        return;
      }
      resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchResult);
    });
  });
}

function summaryLine(r: BenchResult): string {
  const figures =
    r.metrics === undefined
      ? `${JSON.stringify(r).slice(0, 160)}…`
      : Object.entries(r.metrics)
          .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
          .join("  ");
  return `${r.name.padEnd(20)} ${figures}`;
}

async function main(): Promise<void> {
  const dir = join(ROOT, "scripts", "bench");
  const available = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".spec.ts"))
    .map((f) => basename(f, ".ts"))
    .sort();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(", ")}; available: ${available.join(", ")}\n`);
    process.exit(2);
  }
  const names = wanted.length > 0 ? wanted : available;
  const outDir = mkdtempSync(join(tmpdir(), "spire-aws-iid-bench-"));
  const results: BenchResult[] = [];
  const before = machine();
  try {
    // The floor for CPU per attestation: the plugin runtime with an attestor that does nothing.
    const stub = join(outDir, "stub-plugin");
    await buildFixturePlugin(stub);
    process.env.BENCH_STUB_PLUGIN = stub;
    for (const name of names) {
      const file = await bundleScenario(name, outDir);
      const startLoad = loadavg()[0] ?? 0;
      const result = await runScenario(file);
      results.push(result);
      const m = { ...machine(), loadavgAtStart: Math.round(startLoad * 100) / 100 };
      process.stdout.write(`${JSON.stringify({ scenario: name, ...result, machine: m })}\n`);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const after = machine();
  process.stdout.write(
    `\nmachine: ${String(before.nproc)} cores, ${String(before.cpu)}, ${String(before.memoryGB)} GB, node ${String(before.node)}; ` +
      `load average ${JSON.stringify(before.loadavg)} before, ${JSON.stringify(after.loadavg)} after\n`,
  );
  for (const r of results) process.stdout.write(`${summaryLine(r)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
