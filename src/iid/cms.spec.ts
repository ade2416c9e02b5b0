/**
 * The CMS rules one at a time. Each case builds a SignedData that differs from the accepted
 * one in one place and is still correctly signed (the signature is made over whatever signed
 * attributes the case ends up with), so only the rule under test can refuse it. Parsing rules
 * refuse with Asn1Error (InvalidArgument), verification rules with CmsVerificationError
 * (PermissionDenied).
 */
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { algorithm, indefinite, integer, oid, seq, setOf, time, tlv } from "../testkit/der";
import { getTestCa, type TestCertificate } from "../testkit/test-ca";
import { Asn1Error } from "./ber";
import { CmsVerificationError, parseSignedData, verifySignature, verifySignedData } from "./cms";
import { Oid } from "./oids";

const ca = getTestCa();
const trustedOf = (kind: "rsa2048" | "dsa") =>
  ca.trustedCertificates(["us-east-1"]).filter((c) => c.kind === kind);
const DOCUMENT = Buffer.from('{"accountId":"111122223333","instanceId":"i-0123456789abcdef0"}');

const attribute = (type: string, ...values: Buffer[]): Buffer => seq(oid(type), setOf(...values));
const digestOf = (bytes: Buffer, hash = "sha256"): Buffer =>
  tlv(0x04, createHash(hash).update(bytes).digest());
/** RFC 6211 CMSAlgorithmProtection: digest algorithm, then [1] IMPLICIT signature algorithm. */
const protection = (digest: Buffer, signature: Buffer): Buffer =>
  attribute(
    Oid.cmsAlgorithmProtection,
    seq(digest, Buffer.concat([Buffer.from([0xa1]), signature.subarray(1)])),
  );

interface Shape {
  /** The test CA certificate whose key signs, and whose kind the verifier is asked for. */
  cert: TestCertificate;
  contentInfoType: Buffer;
  version: Buffer;
  digestAlgorithms: Buffer[];
  eContentType: Buffer;
  /** The [0] eContent element; undefined for detached content. */
  eContent: Buffer | undefined;
  /** Certificates or CRLs between the content and the signers. */
  between: Buffer[];
  signerVersion: Buffer;
  issuer: Buffer;
  serial: Buffer;
  signerDigest: Buffer;
  /** Each Attribute; the signature is made over their SET OF, whatever they are. */
  attributes: Buffer[];
  /** The signed attributes as sent (default: the SET re-tagged [0] with a definite length). */
  sentAttributes?: (signed: Buffer) => Buffer;
  signatureAlgorithm: Buffer;
  hash: "sha256" | "sha1";
  /** The signature field as sent (default: OCTET STRING). */
  signatureField: (signature: Buffer) => Buffer;
  unsigned: Buffer[];
  /** How many copies of the SignerInfo (default 1). */
  signers: number;
}

function baseShape(): Shape {
  const sha256 = algorithm(Oid.sha256, "null");
  const cert = ca.certificates.rsa2048;
  return {
    cert,
    contentInfoType: oid(Oid.signedData),
    version: integer(1),
    digestAlgorithms: [sha256],
    eContentType: oid(Oid.data),
    eContent: indefinite(0xa0, indefinite(0x24, tlv(0x04, DOCUMENT))),
    between: [],
    signerVersion: integer(1),
    issuer: cert.issuerDer,
    serial: integer(cert.serial),
    signerDigest: sha256,
    attributes: [
      attribute(Oid.contentType, oid(Oid.data)),
      attribute(Oid.signingTime, time(new Date("2026-01-01T00:00:00Z"))),
      attribute(Oid.messageDigest, digestOf(DOCUMENT)),
    ],
    signatureAlgorithm: algorithm(Oid.rsaEncryption, "null"),
    hash: "sha256",
    signatureField: (s) => tlv(0x04, s),
    unsigned: [],
    signers: 1,
  };
}

function build(edit: (s: Shape) => void = () => {}): { der: Buffer; kind: "rsa2048" | "dsa" } {
  const s = baseShape();
  edit(s);
  const signedAttrs = setOf(...s.attributes);
  const signature = sign(s.hash, signedAttrs, s.cert.privateKey);
  const sent =
    s.sentAttributes?.(signedAttrs) ?? Buffer.concat([Buffer.from([0xa0]), signedAttrs.subarray(1)]);
  const signerInfo = seq(
    s.signerVersion,
    seq(s.issuer, s.serial),
    s.signerDigest,
    sent,
    s.signatureAlgorithm,
    s.signatureField(signature),
    ...s.unsigned,
  );
  const der = indefinite(
    0x30,
    s.contentInfoType,
    indefinite(
      0xa0,
      indefinite(
        0x30,
        s.version,
        tlv(0x31, ...s.digestAlgorithms),
        s.eContent === undefined ? seq(s.eContentType) : indefinite(0x30, s.eContentType, s.eContent),
        ...s.between,
        tlv(0x31, ...Array.from({ length: s.signers }, () => signerInfo)),
      ),
    ),
  );
  return { der, kind: s.cert.kind === "dsa" ? "dsa" : "rsa2048" };
}

/** Signed by the test CA's DSA key (the `/pkcs7` kind), with DSA-with-SHA-256 as AWS labels it. */
function dsa(s: Shape): void {
  s.cert = ca.certificates.dsa;
  s.issuer = s.cert.issuerDer;
  s.serial = integer(s.cert.serial);
  s.signatureAlgorithm = algorithm(Oid.dsaWithSha256, "absent");
}

function sha1Digest(s: Shape): void {
  const sha1 = algorithm(Oid.sha1, "null");
  s.digestAlgorithms = [sha1];
  s.signerDigest = sha1;
  s.hash = "sha1";
  s.attributes[2] = attribute(Oid.messageDigest, digestOf(DOCUMENT, "sha1"));
}

const verified = ({ der, kind }: { der: Buffer; kind: "rsa2048" | "dsa" }) =>
  verifySignedData(parseSignedData(der), trustedOf(kind), kind);

function refusal(built: { der: Buffer; kind: "rsa2048" | "dsa" }): Error {
  try {
    verified(built);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

describe("CMS SignedData: the accepted shape", () => {
  it("verifies, and returns the embedded content with the certificate", () => {
    const out = verified(build());
    expect(Buffer.from(out.content).equals(DOCUMENT)).toBe(true);
    expect(out.certificate.kind).toBe("rsa2048");
  });

  it("accepts DSA signatures for the dsa kind: DSA-with-SHA-1 (AWS's /pkcs7) and DSA-with-SHA-256", () => {
    expect(verified(build(dsa)).certificate.kind).toBe("dsa");
    verified(
      build((s) => {
        dsa(s);
        sha1Digest(s);
        s.signatureAlgorithm = algorithm(Oid.dsaWithSha1, "absent");
      }),
    );
  });

  it("accepts the variants AWS and RFC 5652 allow: sha256WithRSAEncryption, parameters absent, a matching cmsAlgorithmProtection", () => {
    verified(build((s) => (s.signatureAlgorithm = algorithm(Oid.sha256WithRsaEncryption, "null"))));
    verified(build((s) => (s.signatureAlgorithm = algorithm(Oid.rsaEncryption, "absent"))));
    verified(
      build((s) =>
        s.attributes.push(protection(algorithm(Oid.sha256, "null"), algorithm(Oid.rsaEncryption, "null"))),
      ),
    );
  });
});

describe("CMS SignedData: each parsing rule refuses on its own (malformed: Asn1Error)", () => {
  const sha256 = algorithm(Oid.sha256, "null");
  it.each<[string, (s: Shape) => void, RegExp]>([
    [
      "a ContentInfo that is not SignedData",
      (s) => (s.contentInfoType = oid(Oid.data)),
      /ContentInfo is not SignedData/,
    ],
    ["SignedData version 3", (s) => (s.version = integer(3)), /SignedData version 3 is not supported/],
    ["nine digest algorithms", (s) => (s.digestAlgorithms = Array(9).fill(sha256)), /digestAlgorithms/],
    [
      "digest algorithm parameters other than NULL",
      (s) => (s.digestAlgorithms = [seq(oid(Oid.sha256), integer(0))]),
      /unsupported algorithm parameters/,
    ],
    [
      "a NULL with content as parameters",
      (s) => (s.digestAlgorithms = [seq(oid(Oid.sha256), tlv(0x05, Buffer.from([0])))]),
      /unsupported algorithm parameters/,
    ],
    ["an empty eContentType OID", (s) => (s.eContentType = tlv(0x06)), /eContentType: empty OID/],
    ["detached content", (s) => (s.eContent = undefined), /detached content is not supported/],
    [
      "a certificates bag",
      (s) => s.between.push(tlv(0xa0, Buffer.from(s.cert.der))),
      /SignedData with certificates or CRLs is not supported/,
    ],
    ["SignerInfo version 3", (s) => (s.signerVersion = integer(3)), /SignerInfo version 3 is not supported/],
    ["an issuer that is not a Name", (s) => (s.issuer = tlv(0x31, s.cert.issuerDer)), /issuer/],
    ["a serial number that is not an INTEGER", (s) => (s.serial = tlv(0x04, s.cert.serial)), /serialNumber/],
    [
      "signed attributes with an indefinite length",
      (s) => (s.sentAttributes = (signed) => indefinite(0xa0, signed.subarray(2))),
      /signedAttrs with an indefinite length/,
    ],
    [
      "unsigned attributes",
      (s) => s.unsigned.push(tlv(0xa1, attribute(Oid.signingTime, time(new Date())))),
      /unsigned attributes are not supported/,
    ],
    [
      "an attribute with 17 values",
      (s) =>
        s.attributes.push(
          attribute(Oid.signingTime, ...Array.from({ length: 17 }, (_, i) => time(new Date(i * 1000)))),
        ),
      /attribute values/,
    ],
    [
      "an attribute with no value",
      (s) => s.attributes.push(seq(oid(Oid.signingTime), tlv(0x31))),
      /attribute values/,
    ],
    [
      "a signature that is not an OCTET STRING",
      (s) => (s.signatureField = (sig) => tlv(0x03, sig)),
      /signature/,
    ],
    [
      "a messageDigest that is not an OCTET STRING",
      (s) =>
        (s.attributes[2] = attribute(
          Oid.messageDigest,
          tlv(0x03, createHash("sha256").update(DOCUMENT).digest()),
        )),
      /messageDigest/,
    ],
    [
      "a cmsAlgorithmProtection whose signature algorithm is not [1]",
      (s) =>
        s.attributes.push(
          attribute(Oid.cmsAlgorithmProtection, seq(sha256, algorithm(Oid.rsaEncryption, "null"))),
        ),
      /protected signatureAlgorithm/,
    ],
  ])("%s", (_name, edit, message) => {
    const err = refusal(build(edit));
    expect(err).toBeInstanceOf(Asn1Error);
    expect(err.message).toMatch(message);
  });
});

describe("CMS SignedData: each verification rule refuses on its own (CmsVerificationError)", () => {
  const sha1 = algorithm(Oid.sha1, "null");
  it.each<[string, (s: Shape) => void, string | RegExp]>([
    [
      "an eContentType other than data",
      (s) => (s.eContentType = oid(Oid.signedData)),
      "unexpected content type 1.2.840.113549.1.7.2",
    ],
    ["no signer", (s) => (s.signers = 0), "expected exactly one signer, found 0"],
    ["two signers", (s) => (s.signers = 2), "expected exactly one signer, found 2"],
    ["no digestAlgorithms", (s) => (s.digestAlgorithms = []), /digestAlgorithms must list exactly/],
    [
      "a digestAlgorithms entry besides the signer's",
      (s) => s.digestAlgorithms.push(sha1),
      /digestAlgorithms must list exactly/,
    ],
    [
      "digestAlgorithms naming another algorithm than the signer's",
      (s) => (s.digestAlgorithms = [sha1]),
      /digestAlgorithms must list exactly/,
    ],
    [
      "digestAlgorithms with the signer's algorithm but other parameters",
      (s) => (s.digestAlgorithms = [algorithm(Oid.sha256, "absent")]),
      /digestAlgorithms must list exactly/,
    ],
    [
      "a serial number no trusted certificate has",
      (s) => (s.serial = integer(Buffer.from("0102030405060708", "hex"))),
      "no trusted certificate matches the signer's issuer and serial number",
    ],
    [
      "another issuer with the right serial number",
      (s) => (s.issuer = seq(setOf(seq(oid("55040a"), tlv(0x13, Buffer.from("elsewhere")))))),
      "no trusted certificate matches the signer's issuer and serial number",
    ],
    [
      "a digest algorithm that is not SHA-1 or SHA-256 (SHA-512)",
      (s) => {
        const sha512 = algorithm("608648016503040203", "null");
        s.digestAlgorithms = [sha512];
        s.signerDigest = sha512;
      },
      "digest algorithm 2.16.840.1.101.3.4.2.3 is not allowed",
    ],
    ["no contentType attribute", (s) => s.attributes.splice(0, 1), "missing contentType signed attribute"],
    [
      "no messageDigest attribute",
      (s) => s.attributes.splice(2, 1),
      "missing messageDigest signed attribute",
    ],
    [
      "two contentType attributes (a first-match reader would take either)",
      (s) => s.attributes.push(attribute(Oid.contentType, oid(Oid.signedData))),
      "contentType signed attribute must have exactly one value",
    ],
    [
      "a contentType attribute with two values",
      (s) => (s.attributes[0] = attribute(Oid.contentType, oid(Oid.data), oid(Oid.signedData))),
      "contentType signed attribute must have exactly one value",
    ],
    [
      "two messageDigest attributes, the first one right",
      (s) => s.attributes.push(attribute(Oid.messageDigest, digestOf(Buffer.from("other")))),
      "messageDigest signed attribute must have exactly one value",
    ],
    [
      "a messageDigest attribute with two values",
      (s) => (s.attributes[2] = attribute(Oid.messageDigest, digestOf(DOCUMENT), digestOf(Buffer.from("x")))),
      "messageDigest signed attribute must have exactly one value",
    ],
    [
      "a contentType attribute naming signedData",
      (s) => (s.attributes[0] = attribute(Oid.contentType, oid(Oid.signedData))),
      "contentType signed attribute does not match the content type",
    ],
    [
      "a messageDigest of another content",
      (s) => (s.attributes[2] = attribute(Oid.messageDigest, digestOf(Buffer.from("another document")))),
      "messageDigest signed attribute does not match the content",
    ],
    [
      "a messageDigest that is a prefix of the right one",
      (s) =>
        (s.attributes[2] = attribute(
          Oid.messageDigest,
          tlv(0x04, createHash("sha256").update(DOCUMENT).digest().subarray(0, 20)),
        )),
      "messageDigest signed attribute does not match the content",
    ],
    [
      "a SHA-1 messageDigest under a SHA-256 digest algorithm",
      (s) => (s.attributes[2] = attribute(Oid.messageDigest, digestOf(DOCUMENT, "sha1"))),
      "messageDigest signed attribute does not match the content",
    ],
    [
      "a cmsAlgorithmProtection naming another digest",
      (s) => s.attributes.push(protection(sha1, algorithm(Oid.rsaEncryption, "null"))),
      "cmsAlgorithmProtection does not match the signer's algorithms",
    ],
    [
      "a cmsAlgorithmProtection naming another signature algorithm",
      (s) =>
        s.attributes.push(
          protection(algorithm(Oid.sha256, "null"), algorithm(Oid.sha256WithRsaEncryption, "null")),
        ),
      "cmsAlgorithmProtection does not match the signer's algorithms",
    ],
    [
      "a cmsAlgorithmProtection with the signature algorithm's parameters changed",
      (s) =>
        s.attributes.push(protection(algorithm(Oid.sha256, "null"), algorithm(Oid.rsaEncryption, "absent"))),
      "cmsAlgorithmProtection does not match the signer's algorithms",
    ],
    [
      "a signature algorithm whose digest is not the signer's (sha1WithRSA under SHA-256)",
      (s) => (s.signatureAlgorithm = algorithm(Oid.sha1WithRsaEncryption, "null")),
      "signature algorithm 1.2.840.113549.1.1.5 with digest 2.16.840.1.101.3.4.2.1 is not allowed for a RSA rsa2048 certificate",
    ],
    [
      "SHA-1 with an rsa2048 certificate",
      sha1Digest,
      /signature algorithm 1.2.840.113549.1.1.1 with digest 1.3.14.3.2.26 is not allowed for a RSA rsa2048 certificate/,
    ],
    [
      "a DSA signature algorithm with an RSA key",
      (s) => (s.signatureAlgorithm = algorithm(Oid.dsaWithSha256, "absent")),
      /is not allowed for a RSA rsa2048 certificate/,
    ],
    [
      "a DSA signature algorithm with NULL parameters",
      (s) => (s.signatureAlgorithm = algorithm(Oid.dsaWithSha256, "null")),
      /is not allowed for a RSA rsa2048 certificate/,
    ],
    [
      "a genuine DSA signature labelled rsaEncryption (an unsigned field)",
      (s) => {
        dsa(s);
        s.signatureAlgorithm = algorithm(Oid.rsaEncryption, "null");
      },
      "signature algorithm 1.2.840.113549.1.1.1 with digest 2.16.840.1.101.3.4.2.1 is not allowed for a DSA dsa certificate",
    ],
    [
      "DSA-with-SHA-256 with NULL parameters (RFC 3279: absent)",
      (s) => {
        dsa(s);
        s.signatureAlgorithm = algorithm(Oid.dsaWithSha256, "null");
      },
      /is not allowed for a DSA dsa certificate/,
    ],
    [
      "DSA-with-SHA-1 under a SHA-256 digest",
      (s) => {
        dsa(s);
        s.signatureAlgorithm = algorithm(Oid.dsaWithSha1, "absent");
      },
      /is not allowed for a DSA dsa certificate/,
    ],
    [
      "a signature with one bit flipped",
      (s) =>
        (s.signatureField = (sig) => {
          const bad = Buffer.from(sig);
          bad[bad.length - 1]! ^= 1;
          return tlv(0x04, bad);
        }),
      "signature does not verify",
    ],
  ])("%s", (_name, edit, message) => {
    const err = refusal(build(edit));
    expect(err).toBeInstanceOf(CmsVerificationError);
    if (typeof message === "string") expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });
});

describe("verifySignature", () => {
  it("reports a key node:crypto cannot use with a digest (Ed25519) as not verifying, without throwing", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const certificate = { ...trustedOf("rsa2048")[0]!, publicKey };
    const signature = sign(null, DOCUMENT, privateKey);
    expect(verifySignature("sha256", DOCUMENT, certificate, signature)).toBe(false);
  });
});
