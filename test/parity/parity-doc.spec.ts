/**
 * docs/parity.md and the test suite are one table. Each row names the tests that prove it
 * (`file` › "test name"); here every such name must be a test that exists, so the suite runs
 * it and a row whose behaviour changes fails its own test. A row that claims "=" must name
 * one. And the differences found by replaying SPIRE's own aws_iid unit-test cases against the
 * plugin (issue 19) are listed below with the test that shows each: their rows must say "≠"
 * and name that test, so none of them can be claimed "=" again.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Reference, references, root, rows } from "./parity-table";

const table = rows();

/**
 * SPIRE's aws_iid unit-test cases whose outcome differs here (the replay of issue 19), each
 * with the SPIRE behaviour as the row states it and the test that shows ours.
 */
const KNOWN_DIFFERENCES: { spire: RegExp; test: Reference }[] = [
  {
    spire: /`management_account_id` and `management_account_region`: any string/,
    test: {
      file: "src/server/config.spec.ts",
      name: "refuses a management_account_id that is not 12 digits and a management_account_region that is no region name, which SPIRE accepts",
    },
  },
  {
    spire: /PKCS#7 that carries certificates/,
    test: { file: "src/iid/cms.spec.ts", name: "a certificates bag" },
  },
  {
    spire: /`rsa2048` PKCS#7 with a SHA-1 digest/,
    test: { file: "src/iid/cms.spec.ts", name: "SHA-1 with an rsa2048 certificate" },
  },
  {
    spire: /The request: `InstanceIds=\[id\]` with an `instance-state-name` filter/,
    test: {
      file: "src/aws/sdk-mock.spec.ts",
      name: "asks DescribeInstances with the instance-id filter and pagination, never InstanceIds",
    },
  },
  {
    spire: /^Any other AWS refusal .*an ordinary HTTP 400/,
    test: { file: "src/aws/errors.spec.ts", name: "%s (HTTP %s, code %s) is %s and Unavailable" },
  },
  {
    spire: /No reservations → Internal/,
    test: { file: "src/server/plugin.spec.ts", name: "refuses an instance EC2 does not know" },
  },
];

describe("docs/parity.md", () => {
  it("has its rows (the parser reads the tables)", () => {
    expect(table.length).toBeGreaterThan(100);
  });

  it("names only tests that exist", () => {
    const missing: string[] = [];
    for (const row of table) {
      for (const ref of references(row.proof)) {
        const path = join(root, ref.file);
        if (!existsSync(path)) missing.push(`line ${row.line}: no file ${ref.file}`);
        else if (ref.name !== undefined && !readFileSync(path, "utf8").includes(ref.name))
          missing.push(`line ${row.line}: ${ref.file} has no test "${ref.name}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("backs every row that claims = with a test", () => {
    const unproven = table
      .filter((r) => r.ours.startsWith("=") && !/§\d/.test(r.proof))
      .filter((r) => references(r.proof).length === 0)
      .map((r) => `line ${r.line}: ${r.claim.slice(0, 80)}`);
    expect(unproven).toEqual([]);
  });

  it.each(KNOWN_DIFFERENCES.map((d) => [d.spire.source, d] as const))(
    "lists %s as a difference, with the test that shows it",
    (_name, { spire, test }) => {
      const matching = table.filter((r) => spire.test(r.claim));
      expect(matching, "exactly one row").toHaveLength(1);
      const [row] = matching;
      expect(row!.ours.startsWith("≠") || row!.ours.includes("≠"), row!.ours).toBe(true);
      expect(row!.ours.startsWith("="), row!.ours).toBe(false);
      expect(references(row!.proof)).toContainEqual(test);
    },
  );
});
