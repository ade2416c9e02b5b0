/**
 * Real spire-server and spire-agent for the end-to-end tests and the bench, built from the Go
 * module proxy: test/spire/go.mod pins them as tools (`go get -tool
 * github.com/spiffe/spire/cmd/spire-server@v1.13.3`, the same for cmd/spire-agent), so go.sum
 * fixes every dependency, and `go install tool` writes both into test/spire/bin (gitignored).
 *
 * The binaries are rebuilt only when go.mod/go.sum change (a stamp file records their hash),
 * so `npm test` pays the build once per machine; the Go build and module caches make even a
 * rebuild fast. The go binary and its minimum version are test/go-toolchain.ts's.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { goBinary, goUnavailable } from "../go-toolchain";

export const SPIRE_VERSION = "1.13.3";
/**
 * The repository. The bench runs this code bundled from a temp dir, where __dirname is not the
 * repository; its runner says where the repository is in BENCH_ROOT (scripts/bench.ts).
 */
export const REPO_ROOT = process.env.BENCH_ROOT ?? resolve(__dirname, "..", "..");
export const SPIRE_MODULE_DIR = join(REPO_ROOT, "test", "spire");
export const SPIRE_BIN_DIR = join(SPIRE_MODULE_DIR, "bin");
export const SPIRE_SERVER = join(SPIRE_BIN_DIR, "spire-server");
export const SPIRE_AGENT = join(SPIRE_BIN_DIR, "spire-agent");
const STAMP = join(SPIRE_BIN_DIR, ".stamp");
/** A cold build (module download + compile of ~2,300 packages) took an hour on 2 very busy cores. */
const BUILD_TIMEOUT_MS = 90 * 60_000;

function moduleHash(): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) h.update(readFileSync(join(SPIRE_MODULE_DIR, f)));
  return h.digest("hex");
}

/** Builds test/spire/bin/spire-{server,agent} unless they are there and match go.mod/go.sum. */
export function ensureSpireBinaries(log: (line: string) => void = () => {}): void {
  const hash = moduleHash();
  const fresh =
    existsSync(SPIRE_SERVER) &&
    existsSync(SPIRE_AGENT) &&
    existsSync(STAMP) &&
    readFileSync(STAMP, "utf8").trim() === hash;
  if (fresh) return;
  const why = goUnavailable();
  if (why !== undefined) throw new Error(`cannot build SPIRE ${SPIRE_VERSION}: ${why}`);
  const go = goBinary();
  mkdirSync(SPIRE_BIN_DIR, { recursive: true });
  log(`building spire-server and spire-agent ${SPIRE_VERSION} with ${go} (first time: several minutes)`);
  const started = Date.now();
  const r = spawnSync(go, ["install", "tool"], {
    cwd: SPIRE_MODULE_DIR,
    // cgo stays on: SPIRE's sqlite datastore (mattn/go-sqlite3) needs it. GOTOOLCHAIN=local and
    // -mod=readonly as for the other Go programs (test/go-toolchain.ts).
    env: {
      ...process.env,
      GO111MODULE: "on",
      GOWORK: "off",
      GOTOOLCHAIN: "local",
      GOFLAGS: "-mod=readonly",
      GOBIN: SPIRE_BIN_DIR,
    },
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0 || !existsSync(SPIRE_SERVER) || !existsSync(SPIRE_AGENT)) {
    throw new Error(
      `building SPIRE ${SPIRE_VERSION} failed (${r.error ?? `exit ${r.status}`}):\n${r.stderr}`,
    );
  }
  writeFileSync(STAMP, `${hash}\n`);
  log(`built SPIRE ${SPIRE_VERSION} in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (require.main === module) {
  ensureSpireBinaries((l) => process.stderr.write(`${l}\n`));
}
