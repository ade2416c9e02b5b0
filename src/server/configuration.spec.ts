/**
 * Configure's checks beyond the schema (configuration.ts): aws_certificate files read and
 * parsed, bounded in number, each problem at the key it comes from.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProblem } from "../hcl/schema";
import { MAX_OPERATOR_CERTIFICATES } from "../iid/certificate-store";
import { getTestCa } from "../testkit/test-ca";
import { prepareServerConfig } from "./configuration";

const dir = mkdtempSync(join(tmpdir(), "configuration-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const block = (region: string, kind: string, pemPath: string): string =>
  `aws_certificate {\n  region = "${region}"\n  kind = "${kind}"\n  pem_path = "${pemPath}"\n}\n`;

async function problems(hcl: string): Promise<string[]> {
  return (await prepareServerConfig(hcl, { env: {} })).problems.map(formatProblem);
}

describe("aws_certificate at Configure", () => {
  it("loads the operator's certificates beside the template", async () => {
    const [entry] = getTestCa().writeAwsCertificateEntries(dir, ["xx-test-1"]);
    const prepared = await prepareServerConfig(block(entry!.region, entry!.kind, entry!.pemPath), {
      env: {},
    });
    expect(prepared.problems).toEqual([]);
    expect(prepared.config?.certificates.map((c) => [c.region, c.kind, c.source])).toEqual([
      ["xx-test-1", entry!.kind, "operator"],
    ]);
  });

  it("points an unreadable pem_path at its block", async () => {
    const missing = join(dir, "missing.pem");
    expect(await problems(`log_level = "info"\n${block("us-east-1", "rsa", missing)}`)).toEqual([
      expect.stringMatching(
        /^At 5:\d+: aws_certificate\[0\] \(region "us-east-1", kind "rsa"\): pem_path .*cannot read/,
      ),
    ]);
  });

  it(`refuses more than ${MAX_OPERATOR_CERTIFICATES} blocks before reading any file`, async () => {
    const hcl = block("us-east-1", "rsa", join(dir, "never-read.pem")).repeat(MAX_OPERATOR_CERTIFICATES + 1);
    expect(await problems(hcl)).toEqual([
      expect.stringContaining(
        `too many aws_certificate blocks: ${MAX_OPERATOR_CERTIFICATES + 1} (limit ${MAX_OPERATOR_CERTIFICATES})`,
      ),
    ]);
  });
});
