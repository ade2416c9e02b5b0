/**
 * Real spire-server and spire-agent for the end-to-end tests and the bench, built from the Go
 * module proxy: test/spire/go.mod pins them as tools (`go get -tool
 * github.com/spiffe/spire/cmd/spire-server@v1.13.3`, the same for cmd/spire-agent), so go.sum
 * fixes every dependency, and `go install tool` writes both into test/spire/bin (gitignored).
 *
 * The binaries are rebuilt only when go.mod/go.sum change (a stamp file records their hash),
 * so `npm test` pays the build once per machine; the Go build and module caches make even a
 * rebuild fast. The Go used is $SPIRE_GO, else /usr/local/go/bin/go when present, else `go` on
 * PATH — never Debian's older golang-go, which cannot read a go.mod asking for Go 1.26.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

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
const MIN_GO = [1, 26];
/** A cold build (module download + compile of ~350 modules) takes minutes on 2 busy cores. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

export function goCommand(): string {
  const fromEnv = process.env.SPIRE_GO;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
}

function moduleHash(): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) h.update(readFileSync(join(SPIRE_MODULE_DIR, f)));
  return h.digest("hex");
}

/** Environment for the go command: module mode in this module only, whatever the caller's shell says. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: "on",
    GOWORK: "off",
    GOFLAGS: "-mod=readonly",
    GOBIN: SPIRE_BIN_DIR,
  };
}

function checkGoVersion(go: string): void {
  const r = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8", env: goEnv() });
  const version = r.stdout?.trim() ?? "";
  const m = /^go(\d+)\.(\d+)/.exec(version);
  const [major = 0, minor = 0] = m === null ? [] : [Number(m[1]), Number(m[2])];
  const [wantMajor = 1, wantMinor = 26] = MIN_GO;
  if (r.status !== 0 || major < wantMajor || (major === wantMajor && minor < wantMinor)) {
    throw new Error(
      `building SPIRE ${SPIRE_VERSION} needs Go ${MIN_GO.join(".")} or newer; ${go} is ${version || `unusable (${r.error ?? r.stderr})`}. ` +
        "Install Go from go.dev or set SPIRE_GO to its go binary.",
    );
  }
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
  const go = goCommand();
  checkGoVersion(go);
  mkdirSync(SPIRE_BIN_DIR, { recursive: true });
  log(`building spire-server and spire-agent ${SPIRE_VERSION} with ${go} (first time: several minutes)`);
  const started = Date.now();
  const r = spawnSync(go, ["install", "tool"], {
    cwd: SPIRE_MODULE_DIR,
    env: goEnv(),
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
