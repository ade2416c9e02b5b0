import { describe, expect, it } from "vitest";
import { partitionOfRegion } from "../aws/partition";
import { Code } from "../common/errors";
import { getTestCa } from "../testkit/test-ca";
import { type AwsCertificateConfig, CertificateStore, loadOperatorCertificate } from "./certificate-store";

const store = CertificateStore.embedded();

describe("embedded store lookups", () => {
  it("finds every partition's regions", () => {
    for (const [region, partition] of [
      ["us-east-1", "aws"],
      ["us-gov-west-1", "aws-us-gov"],
      ["cn-northwest-1", "aws-cn"],
      ["eusc-de-east-1", "aws-eusc"],
    ] as const) {
      const [cert] = store.candidates(region, "rsa2048");
      expect(cert?.partition).toBe(partition);
      expect(cert?.region).toBe(region);
      expect(partitionOfRegion(region)).toBe(partition);
    }
    expect(store.regions("rsa2048")).toContain("ap-southeast-7");
    // AWS publishes no DSA certificate for these (certs README).
    expect(store.candidates("eusc-de-east-1", "dsa")).toEqual([]);
  });

  it("parses once and caches", () => {
    expect(store.candidates("us-east-1", "rsa")).toBe(store.candidates("us-east-1", "rsa"));
    expect(CertificateStore.embedded()).toBe(store);
  });

  it.each([
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "../us-east-1",
    "us-east-1/../../etc/passwd",
    "us-east-1\u0000",
    "US-EAST-1",
    " us-east-1",
    "us-east-1 ",
    "",
    "a".repeat(100_000),
    `us-east-${"1".repeat(10_000)}`,
    "rsa2048\u0000us-east-1",
  ])("cannot be abused with region %j", (region) => {
    for (const kind of ["rsa2048", "rsa", "dsa"] as const) expect(store.candidates(region, kind)).toEqual([]);
  });
});

describe("aws_certificate entries", () => {
  const ca = getTestCa();
  const files: Record<string, string> = {
    "/etc/rsa2048.pem": ca.certificates.rsa2048.pem,
    "/etc/rsa.pem": ca.certificates.rsa.pem,
    "/etc/dsa.pem": ca.certificates.dsa.pem,
    "/etc/two.pem": ca.certificates.rsa.pem + ca.certificates.dsa.pem,
    "/etc/junk.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  };
  const readFile = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };

  it("adds to the embedded candidates of a region rather than replacing them", () => {
    const ops = [
      { region: "us-east-1", kind: "rsa2048", pemPath: "/etc/rsa2048.pem" } as const,
      { region: "xx-new-1", kind: "dsa", pemPath: "/etc/dsa.pem" } as const,
    ].map((entry, i) => loadOperatorCertificate(entry, i, readFile));
    const merged = CertificateStore.withOperatorCertificates(ops);
    expect(merged.candidates("us-east-1", "rsa2048").map((c) => c.source)).toEqual(["embedded", "operator"]);
    expect(merged.candidates("xx-new-1", "dsa")[0]).toMatchObject({
      name: "aws_certificate:/etc/dsa.pem",
      partition: "aws",
      source: "operator",
    });
    // The embedded store itself is untouched.
    expect(store.candidates("xx-new-1", "dsa")).toEqual([]);
  });

  it.each([
    [
      { region: "us-east-1", kind: "rsa2048", pemPath: "/nope.pem" },
      'aws_certificate[0] (region "us-east-1", kind "rsa2048"): pem_path "/nope.pem": cannot read: ENOENT',
    ],
    [
      { region: "us-east-1", kind: "ecdsa", pemPath: "/etc/rsa.pem" },
      'aws_certificate[0]: kind "ecdsa" must be one of rsa2048, rsa, dsa',
    ],
    [
      { region: "../etc", kind: "rsa", pemPath: "/etc/rsa.pem" },
      'aws_certificate[0]: region "../etc" is not an AWS region name',
    ],
    [{ region: "us-east-1", kind: "rsa", pemPath: "" }, "aws_certificate[0]: pem_path is required"],
    [
      { region: "us-east-1", kind: "rsa", pemPath: "/etc/two.pem" },
      "expected exactly one PEM CERTIFICATE block, found 2",
    ],
    [{ region: "us-east-1", kind: "rsa", pemPath: "/etc/junk.pem" }, 'pem_path "/etc/junk.pem": '],
    [
      { region: "us-east-1", kind: "rsa2048", pemPath: "/etc/rsa.pem" },
      "needs an RSA key of at least 2048 bits, found RSA-1024",
    ],
    [
      { region: "us-east-1", kind: "rsa", pemPath: "/etc/dsa.pem" },
      "needs an RSA key of at least 1024 bits, found DSA",
    ],
  ])("rejects %j", (entry, message) => {
    try {
      // The loader re-checks what the config decoder checked: a library caller may pass anything.
      loadOperatorCertificate(entry as AwsCertificateConfig, 0, readFile);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: Code.InvalidArgument });
      expect((err as Error).message).toContain(message);
    }
  });
});
