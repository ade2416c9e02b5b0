/**
 * Builds and runs the Go HCL v1 oracle (main.go) for the differential tests: a Go module on
 * github.com/hashicorp/hcl v1.0.0 from the Go module proxy (go.mod says why not SPIRE's
 * v1.0.1-vault-7 yet).
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GoValue } from "../../src/hcl/generic";
import { goBuild, goUnavailable } from "../go-toolchain";

const here = dirname(fileURLToPath(import.meta.url));
export const ORACLE_BIN = join(here, "bin", "hcl-oracle");

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
  return goUnavailable();
}

export function buildOracle(): void {
  goBuild(here, ORACLE_BIN);
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
