/**
 * Differential tests: src/hcl against Go's hashicorp/hcl v1 (the oracle in main.go). Each
 * input must give the same value, or the same error text (which includes Go's line:column).
 * Inputs where Go panics must be errors here. Set HCL_ORACLE_SKIP=1 only on machines without
 * Go; CI must run it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HclError } from "../../src/hcl/errors";
import { parseToGoValue } from "../../src/hcl/generic";
import { corpusFiles, generatedCases, handWritten } from "./corpus";
import {
  buildOracle,
  type OracleResult,
  oracleUnavailable,
  runOracle,
  type Tagged,
  toTagged,
} from "./oracle";

const skip = process.env.HCL_ORACLE_SKIP === "1";
if (!skip) {
  const why = oracleUnavailable();
  if (why) throw new Error(`HCL oracle unavailable: ${why} (set HCL_ORACLE_SKIP=1 to skip)`);
}

interface Outcome {
  value?: Tagged;
  error?: string;
}

function ours(input: string): Outcome {
  try {
    return { value: toTagged(parseToGoValue(input)) };
  } catch (e) {
    if (e instanceof HclError) return { error: e.goMessage };
    throw e;
  }
}

function expectSame(input: string, go: OracleResult): void {
  const mine = ours(input);
  if (go.panic !== undefined) {
    expect(mine.error, `Go panicked (${go.panic}); we must report an error`).toBeDefined();
    return;
  }
  if (go.error !== undefined) {
    expect(mine).toEqual({ error: go.error });
    return;
  }
  expect(mine).toEqual({ value: go.value });
}

const files = corpusFiles();
const generated = generatedCases(300);
const inputs: { name: string; text: string }[] = [
  ...handWritten.map((text, i) => ({ name: `hand #${i}: ${JSON.stringify(text).slice(0, 60)}`, text })),
  ...files.map((f) => ({ name: `file ${f.name}`, text: f.text })),
  ...generated.map((text, i) => ({ name: `generated #${i}`, text })),
];

describe.skipIf(skip)("HCL v1 parser agrees with Go's hashicorp/hcl", () => {
  let results: OracleResult[] = [];
  beforeAll(() => {
    buildOracle();
    results = runOracle(inputs.map((i) => ({ mode: "generic", input: i.text })));
  });

  it("has a corpus of at least 150 inputs", () => {
    expect(inputs.length).toBeGreaterThanOrEqual(150);
  });

  it.each(inputs.map((input, index) => ({ ...input, index })))("$name", ({ text, index }) => {
    expectSame(text, results[index]!);
  });

  it("agrees on inputs with invalid UTF-8 and raw bytes", () => {
    const raw = [
      Uint8Array.from([0x61, 0x20, 0x3d, 0x20, 0x22, 0xff, 0x22]),
      Uint8Array.from([0x23, 0x20, 0xc3, 0x28, 0x0a, 0x61, 0x3d, 0x31]),
      Uint8Array.from([0x61, 0x3d, 0x31, 0x0a, 0xe2, 0x82]),
    ];
    const go = runOracle(raw.map((input) => ({ mode: "generic", input })));
    raw.forEach((bytes, i) => {
      let mine: Outcome;
      try {
        mine = { value: toTagged(parseToGoValue(bytes)) };
      } catch (e) {
        mine = { error: (e as HclError).goMessage };
      }
      expect(mine).toEqual(go[i]!.error !== undefined ? { error: go[i]!.error } : { value: go[i]!.value });
    });
  });
});
