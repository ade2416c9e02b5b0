/**
 * Builds and runs the Go HCL v1 oracle (main.go) for the differential tests. GOPATH mode
 * against Debian's golang-github-hashicorp-hcl-dev, so no network is needed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GoValue } from "../../src/hcl/generic";

const here = dirname(fileURLToPath(import.meta.url));
export const ORACLE_BIN = join(here, "bin", "hcl-oracle");
const HCL_SRC = "/usr/share/gocode/src/github.com/hashicorp/hcl";

export type Tagged =
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { map: { [k: string]: Tagged } }
  | { list: Tagged[] };

export interface OracleResult {
  value?: unknown;
  error?: string;
  panic?: string;
  plugins?: OraclePlugin[];
}

export interface OraclePlugin {
  name: string;
  plugin_cmd: string;
  has_data: boolean;
  data: string;
  value?: Tagged;
  error?: string;
  panic?: string;
}

export type OracleMode = "generic" | "typed" | "spire";

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleUnavailable(): string | undefined {
  if (!existsSync(HCL_SRC))
    return `Go HCL v1 sources not found at ${HCL_SRC} (apt install golang-github-hashicorp-hcl-dev)`;
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.status !== 0) return "go toolchain not found";
  return undefined;
}

export function buildOracle(): void {
  const src = join(here, "main.go");
  if (existsSync(ORACLE_BIN) && statSync(ORACLE_BIN).mtimeMs >= statSync(src).mtimeMs) return;
  mkdirSync(join(here, "bin"), { recursive: true });
  const r = spawnSync("go", ["build", "-o", ORACLE_BIN, "."], {
    cwd: here,
    encoding: "utf8",
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOCACHE: join(here, "bin", ".cache"),
      GOFLAGS: "",
    },
  });
  if (r.status !== 0) throw new Error(`building the HCL oracle failed:\n${r.stderr}`);
}

export function runOracle(requests: { mode: OracleMode; input: string | Uint8Array }[]): OracleResult[] {
  const payload = JSON.stringify(
    requests.map((r) => ({
      mode: r.mode,
      input: Buffer.from(typeof r.input === "string" ? Buffer.from(r.input, "utf8") : r.input).toString(
        "base64",
      ),
    })),
  );
  const r = spawnSync(ORACLE_BIN, [], { input: payload, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`HCL oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}

export function toTagged(v: GoValue): Tagged {
  switch (v.t) {
    case "map": {
      // Go's encoding/json sorts map keys by bytes; do the same so texts compare equal.
      const keys = [...v.m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const m: { [k: string]: Tagged } = {};
      for (const k of keys) m[k] = toTagged(v.m.get(k)!);
      return { map: m };
    }
    case "slice":
      return { list: v.items.map(toTagged) };
    case "string":
      return { s: v.v };
    case "int":
      return { i: v.v.toString() };
    case "float":
      return { f: v.v };
    case "bool":
      return { b: v.v };
  }
}
