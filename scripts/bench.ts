/**
 * npm run bench: runs every scenario module in scripts/bench/ (or the names given on argv,
 * e.g. `tsx scripts/bench.ts handshake`). A scenario exports `run(): Promise<BenchResult>`;
 * each result is printed as one JSON line, then a summary table.
 */

import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { basename, join } from "node:path";

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

interface BenchModule {
  run(): Promise<BenchResult>;
}

async function main(): Promise<void> {
  const dir = join(__dirname, "bench");
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
  const machine = { nproc: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version };
  const results: BenchResult[] = [];
  for (const name of names) {
    const mod = (await import(join(dir, `${name}.ts`))) as BenchModule;
    const result = await mod.run();
    results.push(result);
    process.stdout.write(`${JSON.stringify({ scenario: name, ...result, machine })}\n`);
  }
  process.stdout.write(`\nmachine: ${machine.nproc} cores, ${machine.cpu}, node ${machine.node}\n`);
  for (const r of results) {
    const figures =
      r.metrics === undefined
        ? `${JSON.stringify(r).slice(0, 160)}…`
        : Object.entries(r.metrics)
            .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`)
            .join("  ");
    process.stdout.write(`${r.name.padEnd(28)} ${figures}\n`);
  }
}

void main();
