/**
 * Builds what the process-level tests drive, once per `npm test`: the real bundle
 * (dist/spire-aws-iid, via scripts/bundle.ts) and a scripted fixture plugin that uses the same
 * runtime with test attestors, and real spire-server/spire-agent 1.13.3 from the Go module proxy
 * for test/spire (test/spire/build.ts; minutes the first time, then only when test/spire/go.mod
 * changes). A fresh clone therefore needs only `npm ci && npm test`.
 *
 * It also arms the loopback guard (test/loopback-guard.cjs) for the whole run: loaded here, it
 * puts itself into NODE_OPTIONS before vitest forks its workers, so workers and every Node
 * process they spawn refuse non-loopback connects; each refusal is logged to one file, and the
 * teardown fails the run if that file is not empty.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { bundle, NODE_TARGET } from "../scripts/bundle";
import { ensureSpireBinaries } from "./spire/build";

const root = resolve(__dirname, "..");
export const FIXTURE_PLUGIN = join(root, "test", "interop", "bin", "scripted-plugin");

function armLoopbackGuard(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "loopback-guard-"));
  const log = join(dir, "refusals.jsonl");
  writeFileSync(log, "");
  process.env.LOOPBACK_GUARD_LOG = log;
  createRequire(__filename)("./loopback-guard.cjs");
  return () => {
    const refusals = readFileSync(log, "utf8").trim();
    rmSync(dir, { recursive: true, force: true });
    if (refusals !== "") {
      throw new Error(
        `the loopback guard refused traffic outside 127.0.0.0/8 during the run (test/loopback-guard.cjs):\n${refusals}`,
      );
    }
  };
}

export default async function setup(): Promise<() => void> {
  const checkLoopback = armLoopbackGuard();
  await bundle();
  await buildFixturePlugin();
  ensureSpireBinaries((line) => process.stderr.write(`${line}\n`));
  return checkLoopback;
}

/**
 * The scripted plugin: the real runtime with attestors that do no work. `npm run bench` uses it
 * as the floor of a grpc-js plugin (payload "challenges:0" answers at once).
 */
export async function buildFixturePlugin(outfile = FIXTURE_PLUGIN): Promise<void> {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, "test", "interop", "fixtures", "scripted-plugin.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: NODE_TARGET,
    external: ["@grpc/proto-loader"],
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  chmodSync(outfile, 0o755);
}
