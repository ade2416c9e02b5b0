/**
 * The layout scripts/bundle.ts gives dist/spire-aws-iid: what runs after the handshake ships
 * compressed inside the file and is compiled on first use, so V8 never parses it at start
 * (issue 9). Timings live in BENCHMARKS.md; these tests check the properties the layout must
 * keep: one instance of every module, builtins and import() working in the lazy part, stack
 * frames that name it, and no attestor code left in the part V8 parses at start.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_PATH, bundle } from "../scripts/bundle";

const FIXTURE = resolve(__dirname, "fixtures", "lazy-bundle", "main.ts");

interface FixtureReport {
  lazyAEvaluationsBeforeImport: number;
  lazyAEvaluations: number;
  sharedEvaluations: number;
  sameFunction: boolean;
  caughtAsShared: boolean;
  digest: string;
  httpRequestType: string;
  cjsAnswer: number;
  stack: string;
}

function sha8(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

describe("bundle layout: lazy part", () => {
  let dir: string;
  let outfile: string;
  let report: FixtureReport;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazy-bundle-"));
    outfile = join(dir, "fixture");
    await bundle({ entry: FIXTURE, outfile });
    report = JSON.parse(execFileSync(process.execPath, [outfile], { encoding: "utf8" })) as FixtureReport;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps dynamically imported code out of the parsed source", () => {
    const text = readFileSync(outfile, "utf8");
    expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(text).not.toContain("thrown in the lazy part");
    expect(report.lazyAEvaluationsBeforeImport).toBe(0);
  });

  it("evaluates each module once, and a module of the main part is the same instance in the lazy part", () => {
    expect(report.lazyAEvaluations).toBe(1);
    expect(report.sharedEvaluations).toBe(1);
    expect(report.sameFunction).toBe(true);
    expect(report.caughtAsShared).toBe(true);
  });

  it("runs node builtins, required or dynamically imported, inside the lazy part", () => {
    expect(report.digest).toBe(sha8(sha8("x")));
    expect(report.httpRequestType).toBe("function");
  });

  it("gives import() of a CommonJS module its named exports", () => {
    expect(report.cjsAnswer).toBe(42);
  });

  it("names the lazy part in stack frames", () => {
    expect(report.stack).toMatch(new RegExp(`${outfile}#lazy/[\\w-]+\\.js:`));
  });
});

describe("bundle layout: dist/spire-aws-iid", () => {
  it("has no AWS SDK, IID verifier or operator command code in the part V8 parses at start", () => {
    const text = readFileSync(BUNDLE_PATH, "utf8");
    // One marker per lazily loaded area: EC2 client, pkijs (IID verifier), check-config.
    for (const marker of ["DescribeInstancesCommand", "SignedData", "usage: spire-aws-iid check-config"]) {
      expect(text).not.toContain(marker);
    }
  });
});
