/**
 * Builds the test suite's Go programs (the interop host, the HCL oracle) as Go modules with
 * their dependencies from the Go module proxy, pinned by each module's go.mod/go.sum.
 *
 * The go binary is chosen explicitly, never by PATH order: $GO if set, else
 * /usr/local/go/bin/go (where the project's machines and CI have Go), else `go` on PATH; and
 * whichever it is must be at least MIN_GO, so an old distribution Go (Debian's golang-go is
 * 1.19) can never build these by accident. GOTOOLCHAIN=local keeps Go from fetching another
 * toolchain; -mod=readonly keeps a build from rewriting go.mod/go.sum.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";

/** The go directive of test/interop/host/go.mod and test/hcl-oracle/go.mod. */
export const MIN_GO: readonly [number, number] = [1, 26];

const LOCAL_GO = "/usr/local/go/bin/go";

/** For the beforeAll hooks that build: a cold build (modules + compile) on 2 busy cores. */
export const GO_BUILD_TIMEOUT_MS = 900_000;

export function goBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GO !== undefined && env.GO !== "") return env.GO;
  return existsSync(LOCAL_GO) ? LOCAL_GO : "go";
}

function goEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOTOOLCHAIN: "local",
    GOFLAGS: "-mod=readonly -buildvcs=false",
    GO111MODULE: "on",
    ...extra,
  };
}

/** "go1.26.8" -> [1, 26]; undefined for anything else (devel builds included). */
export function parseGoVersion(v: string): [number, number] | undefined {
  const m = /^go(\d+)\.(\d+)/.exec(v.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

/** Why the Go programs cannot be built here, or undefined when they can. */
export function goUnavailable(): string | undefined {
  const go = goBinary();
  const r = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8", env: goEnv({}) });
  if (r.status !== 0) return `no Go toolchain (${go}): ${r.error?.message ?? r.stderr}`;
  const version = parseGoVersion(r.stdout);
  const [major, minor] = MIN_GO;
  if (version === undefined || version[0] < major || (version[0] === major && version[1] < minor)) {
    return `${go} is ${r.stdout.trim()}; the test programs need Go >= ${major}.${minor} (set GO=/path/to/go)`;
  }
  return undefined;
}

const built = new Map<string, string>();

/**
 * `go build` the main package in moduleDir to out, once per process. The binary is written
 * beside out and renamed over it, so concurrent builds by parallel spec files never swap a
 * file under a running process. Static (CGO_ENABLED=0) so the same binary also runs in the
 * chroot test.
 */
export function goBuild(moduleDir: string, out: string): string {
  const done = built.get(out);
  if (done !== undefined) return done;
  const why = goUnavailable();
  if (why !== undefined) throw new Error(why);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(goBinary(), ["build", "-trimpath", "-o", tmp, "."], {
    cwd: moduleDir,
    encoding: "utf8",
    env: goEnv({ CGO_ENABLED: "0" }),
    timeout: GO_BUILD_TIMEOUT_MS,
  });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build in ${moduleDir} failed:\n${r.stderr}${r.error?.message ?? ""}`);
  }
  renameSync(tmp, out);
  built.set(out, out);
  return out;
}
