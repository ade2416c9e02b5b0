/**
 * Builds what the process-level tests drive, once per `npm test`: the real bundle
 * (dist/spire-aws-iid, via scripts/bundle.ts) and a scripted fixture plugin that uses the same
 * runtime with test attestors. A fresh clone therefore needs only `npm ci && npm test`.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { bundle, NODE_TARGET } from "../scripts/bundle";

const root = resolve(__dirname, "..");
export const FIXTURE_PLUGIN = join(root, "test", "interop", "bin", "scripted-plugin");

export default async function setup(): Promise<void> {
  await bundle();
  mkdirSync(join(root, "test", "interop", "bin"), { recursive: true });
  await build({
    entryPoints: [join(root, "test", "interop", "fixtures", "scripted-plugin.ts")],
    outfile: FIXTURE_PLUGIN,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: NODE_TARGET,
    external: ["@grpc/proto-loader"],
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  chmodSync(FIXTURE_PLUGIN, 0o755);
}
