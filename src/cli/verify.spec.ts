import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildIidDocument, getTestCa } from "../testkit/test-ca";
import { runVerify } from "./verify";

const VECTORS = join(import.meta.dirname, "../../test/vectors/testdata/aws-iid/vectors");
const vector = (id: string, file: string): string => join(VECTORS, id, file);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runVerify(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("spire-aws-iid verify", () => {
  it.each([
    ["teleport-2021-us-west-2-rsa2048", "rsa2048", "aws-us-west-2-rsa2048"],
    ["taskcluster-2018-us-west-2-rsasig", "rsa", "aws-us-west-2-rsa"],
    ["istio-2017-us-west-2-dsa", "pkcs7", "aws-us-west-2-dsa"],
  ])("verifies %s with the kind detected", async (id, kind, cert) => {
    const r = await run([
      "--document",
      vector(id, "document.json"),
      "--signature",
      vector(id, "signature.b64"),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`kind:        ${kind}`);
    expect(r.out).toContain(`certificate: ${cert} (embedded, partition aws`);
  });

  it("accepts binary DER / raw signature files and prints JSON", async () => {
    const id = "taskcluster-2018-us-west-2-rsa2048";
    const r = await run([
      "verify",
      "--document",
      vector(id, "document.json"),
      "--signature",
      vector(id, "signature.der"),
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      verified: true,
      accountId: "692406183521",
      region: "us-west-2",
      kind: "rsa2048",
    });
    const raw = await run([
      "--document",
      vector("rspamd-2024-us-east-1-rsasig", "document.json"),
      "--signature",
      vector("rspamd-2024-us-east-1-rsasig", "signature.bin"),
    ]);
    expect(raw.code).toBe(0);
  });

  it("reports a rejection with exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
    const doc = join(dir, "doc.json");
    writeFileSync(doc, buildIidDocument({ region: "us-west-2" }));
    const r = await run([
      "--document",
      doc,
      "--signature",
      vector("teleport-2021-us-west-2-rsa2048", "signature.b64"),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "NOT VERIFIED (PermissionDenied): instance identity document does not match the verified PKCS7 content",
    );
    const j = await run([
      "--json",
      "--kind",
      "rsa2048",
      "--document",
      doc,
      "--signature",
      vector("teleport-2021-us-west-2-rsa2048", "signature.b64"),
    ]);
    expect(JSON.parse(j.out)).toMatchObject({ verified: false, code: "PermissionDenied" });
  });

  it("trusts --region-cert for a region AWS opened after this release", async () => {
    const ca = getTestCa();
    const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
    const document = buildIidDocument({ region: "xx-future-1" });
    writeFileSync(join(dir, "doc.json"), document);
    writeFileSync(join(dir, "sig"), ca.signPkcs7(document));
    writeFileSync(join(dir, "ca.pem"), ca.certificates.dsa.pem);
    const args = ["--document", join(dir, "doc.json"), "--signature", join(dir, "sig")];
    const without = await run(args);
    expect(without.code).toBe(1);
    expect(without.err).toContain("aws_certificate");
    const withCert = await run([...args, "--region-cert", join(dir, "ca.pem")]);
    expect(withCert.code).toBe(0);
    expect(withCert.out).toContain("kind:        pkcs7");
    expect(withCert.out).toContain("(operator, partition aws");
  });

  it("tolerates a trailing newline an editor added, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
    const id = "teleport-2021-us-west-1-rsa2048";
    writeFileSync(join(dir, "doc.json"), `${readFileSync(vector(id, "document.json"), "utf8")}\n`);
    const r = await run(["--document", join(dir, "doc.json"), "--signature", vector(id, "signature.p7.pem")]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^note: .*ends with a newline/);
  });

  it.each([
    [[]],
    [["--document", "x"]],
    [["--document", "x", "--signature", "y", "--kind", "ecdsa"]],
    [["--bogus"]],
    [["--document", "/nonexistent/doc", "--signature", "/nonexistent/sig"]],
  ])("exits 2 on usage errors: %j", async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage: spire-aws-iid verify");
  });

  it("refuses /dev/zero and a directory as input at once (usage error, exit 2), never hangs", async () => {
    for (const [flag, path] of [
      ["--document", "/dev/zero"],
      ["--signature", "/dev/zero"],
      ["--region-cert", "/dev/zero"],
      ["--document", tmpdir()],
    ] as const) {
      const args = ["--document", vector("teleport-2021-us-west-2-rsa2048", "document.json")];
      args.push("--signature", vector("teleport-2021-us-west-2-rsa2048", "signature.b64"));
      const i = args.indexOf(flag);
      if (i >= 0) args[i + 1] = path;
      else args.push(flag, path);
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/cannot read/);
    }
  });

  it("prints help", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--region-cert");
  });
});
