import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeBase64Strict } from "../iid/base64";
import { readRoot } from "../iid/ber";
import { CertificateStore, loadOperatorCertificate } from "../iid/certificate-store";
import { parseSignedData } from "../iid/cms";
import { encodeAttestationPayload } from "../iid/payload";
import { verifyInstanceIdentity } from "../iid/verify";
import { buildIidDocument, createTestCa, getTestCa } from "./test-ca";

interface Vector {
  id: string;
  document: string;
}
const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../test/vectors/testdata/aws-iid/vectors.json"), "utf8"),
) as Vector[];

describe("buildIidDocument", () => {
  it("reproduces a real AWS document byte for byte", () => {
    const real = vectors.find((v) => v.id === "teleport-2021-us-west-2-rsa2048")!.document;
    const built = buildIidDocument({
      accountId: "278576220453",
      availabilityZone: "us-west-2a",
      imageId: "ami-0fa9e1f64142cde17",
      instanceId: "i-078517ca8a70a1dde",
      instanceType: "t2.medium",
      pendingTime: "2021-09-03T21:25:44Z",
      privateIp: "10.0.0.209",
      region: "us-west-2",
    });
    expect(built).toBe(real);
  });

  it("writes lists the way AWS does", () => {
    const real = vectors.find((v) => v.id === "rspamd-2024-us-east-1-marketplace-rsasig")!.document;
    const built = buildIidDocument({
      accountId: "975050371289",
      availabilityZone: "us-east-1c",
      marketplaceProductCodes: ["4i20ezfza3p7xx2kt2g8weu2u"],
      imageId: "ami-0b76fe9a9986f66a7",
      instanceId: "i-0ce4441c840a0a941",
      instanceType: "t2.micro",
      pendingTime: new Date("2024-04-12T13:56:49Z"),
      privateIp: "172.31.43.11",
      region: "us-east-1",
    });
    expect(built).toBe(real);
  });
});

describe("test CA signatures", () => {
  const ca = getTestCa();
  const document = buildIidDocument({ region: "eu-west-1", accountId: "111122223333" });

  it("is cached per process", () => {
    expect(getTestCa()).toBe(ca);
  });

  it("serves PKCS#7 in AWS's framing: BER indefinite lengths, 76-column base64, no armour", () => {
    const text = ca.signRsa2048(document);
    // The same prefix as every real AWS /rsa2048 and /pkcs7 (indefinite SEQUENCE, signedData, [0]).
    expect(text.startsWith("MIAGCSqGSIb3DQEHAqCAMIACAQEx")).toBe(true);
    expect(text).not.toContain("-----");
    expect(text.endsWith("\n")).toBe(false);
    const lines = text.split("\n");
    expect(lines.slice(0, -1).every((l) => l.length === 76)).toBe(true);
    const der = decodeBase64Strict(text);
    expect(() => readRoot(der)).not.toThrow();
    const parsed = parseSignedData(der);
    expect(Buffer.from(parsed.content).toString("utf8")).toBe(document);
    expect(parsed.signerInfos).toHaveLength(1);
    expect(parsed.signerInfos[0]!.signedAttributes.map((a) => a.oid)).toEqual([
      "2a864886f70d010903", // contentType
      "2a864886f70d010905", // signingTime
      "2a864886f70d010904", // messageDigest
    ]);
  });

  it("chunks the encapsulated content", () => {
    const der = decodeBase64Strict(ca.signRsa2048(document, { chunkSize: 100 }));
    // 0x24 0x80 = constructed OCTET STRING, indefinite; followed by the first 100-byte chunk.
    expect(der.includes(Buffer.from([0x24, 0x80, 0x04, 0x64]))).toBe(true);
    expect(Buffer.from(parseSignedData(der).content).toString("utf8")).toBe(document);
  });

  it.each(["rsa2048", "signature", "pkcs7"] as const)(
    "round-trips the %s form through the verifier",
    async (field) => {
      const signed = ca.sign(document);
      const payload = encodeAttestationPayload({
        document,
        signature: field === "signature" ? signed.signature : "",
        rsa2048: field === "rsa2048" ? signed.rsa2048 : "",
        pkcs7: field === "pkcs7" ? signed.pkcs7 : "",
      });
      const identity = await verifyInstanceIdentity(payload, { store: ca.store(["eu-west-1"]) });
      expect(identity.document.accountId).toBe("111122223333");
      expect(identity.document.region).toBe("eu-west-1");
      expect(identity.certificate.source).toBe("operator");
    },
  );

  it("is not trusted by another test CA", async () => {
    const other = createTestCa();
    const signed = ca.sign(document);
    await expect(
      verifyInstanceIdentity({ document, rsa2048: signed.rsa2048 }, { store: other.store(["eu-west-1"]) }),
    ).rejects.toMatchObject({ code: 7 });
  });

  it("writes PEMs that load as aws_certificate entries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "test-ca-"));
    const entries = ca.writeAwsCertificateEntries(dir, ["eu-west-1", "xx-test-1"]);
    expect(entries).toHaveLength(6);
    const store = CertificateStore.withOperatorCertificates(
      entries.map((e, i) => loadOperatorCertificate(e, i)),
    );
    const doc = buildIidDocument({ region: "xx-test-1" });
    const identity = await verifyInstanceIdentity({ document: doc, pkcs7: ca.signPkcs7(doc) }, { store });
    expect(identity.kind).toBe("pkcs7");
    expect(identity.certificate.name).toBe(`aws_certificate:${join(dir, "test-ca-dsa.pem")}`);
  });
});
