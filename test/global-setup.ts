/**
 * Builds what the process-level tests drive, once per `npm test`: the real bundle
 * (dist/spire-aws-iid, via scripts/bundle.ts) and a scripted fixture plugin that uses the same
 * runtime with test attestors, and real spire-server/spire-agent 1.13.3 from the Go module proxy
 * for test/spire (test/spire/build.ts; minutes the first time, then only when test/spire/go.mod
 * changes). A fresh clone therefore needs only `npm ci && npm test`.
 *
 * It also arms the loopback guard for the whole run (test/loopback-global-setup.ts, which runs
 * alone for `npm run fuzz` and `npm run mutate`: their specs need nothing built).
 */
import { chmodSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { bundle, NODE_TARGET } from "../scripts/bundle";
import { armLoopbackGuard } from "./loopback-global-setup";
import { ensureSpireBinaries } from "./spire/build";

const root = resolve(__dirname, "..");
export const FIXTURE_PLUGIN = join(root, "test", "interop", "bin", "scripted-plugin");

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
