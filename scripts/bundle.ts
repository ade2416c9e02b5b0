/**
 * npm run build: dist/spire-aws-iid, one executable CommonJS file for plugin_cmd, plus
 * dist/spire-aws-iid.sha256 (sha256sum format) for plugin_checksum. go-plugin hashes exactly
 * the plugin_cmd file, so a single file is what makes the checksum cover our code.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(__dirname, "..");
export const BUNDLE_PATH = join(root, "dist", "spire-aws-iid");

export async function bundle(): Promise<{ path: string; sha256: string; bytes: number }> {
  mkdirSync(join(root, "dist"), { recursive: true });
  await build({
    entryPoints: [join(root, "src", "main.ts")],
    outfile: BUNDLE_PATH,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    // grpc-js requires proto-loader only lazily (channelz, ORCA); bundling it would pull in
    // protobufjs for nothing.
    external: ["@grpc/proto-loader"],
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    logLevel: "warning",
  });
  chmodSync(BUNDLE_PATH, 0o755);
  const bytes = readFileSync(BUNDLE_PATH);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(`${BUNDLE_PATH}.sha256`, `${sha256}  ${basename(BUNDLE_PATH)}\n`);
  return { path: BUNDLE_PATH, sha256, bytes: bytes.length };
}

if (require.main === module) {
  bundle().then(
    ({ path, sha256, bytes }) => {
      process.stdout.write(`${path} (${(bytes / 1024).toFixed(0)} KiB)\nsha256 ${sha256}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
