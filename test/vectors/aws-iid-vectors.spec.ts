/**
 * Real AWS-signed instance identity data (test/vectors/testdata/aws-iid, copied from the
 * project's shared test data; see its README for provenance).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Code, isPluginError } from "../../src/common/errors";
import { decodeBase64Strict, encodeBase64Lines } from "../../src/iid/base64";
import { CertificateStore } from "../../src/iid/certificate-store";
import { EMBEDDED_CERTIFICATES } from "../../src/iid/certs/generated";
import { parseSignedData } from "../../src/iid/cms";
import { encodeAttestationPayload } from "../../src/iid/payload";
import { type AttestationPayloadInput, verifyInstanceIdentitySync } from "../../src/iid/verify";

const DIR = join(import.meta.dirname, "testdata", "aws-iid");

interface Vector {
  id: string;
  kind: "pkcs7-dsa" | "pkcs7-rsa2048" | "rsa-signature";
  region: string;
  partition: string;
  account_id: string;
  instance_id: string;
  document: string;
  signature: string;
  verified_with_cert: string;
}
interface CertInfo {
  file: string;
  partition: string;
  regions: string[];
  kind: "rsa2048" | "rsa" | "dsa";
  status: string;
  sha256_fingerprint: string;
}

const vectors = JSON.parse(readFileSync(join(DIR, "vectors.json"), "utf8")) as Vector[];
const certsInfo = JSON.parse(readFileSync(join(DIR, "certs.json"), "utf8")) as CertInfo[];
const store = CertificateStore.embedded();

const FIELD = { "pkcs7-dsa": "pkcs7", "pkcs7-rsa2048": "rsa2048", "rsa-signature": "signature" } as const;

function payloadOf(v: Vector, signature = v.signature, document = v.document): AttestationPayloadInput {
  return { document, [FIELD[v.kind]]: signature };
}

/** Verifies; returns the verified document text, or undefined when rejected with a PluginError. */
function attempt(input: AttestationPayloadInput, s: CertificateStore = store): string | undefined {
  try {
    return Buffer.from(verifyInstanceIdentitySync(input, { store: s }).documentBytes).toString("utf8");
  } catch (err) {
    if (!isPluginError(err)) throw err;
    return undefined;
  }
}

describe("every real AWS vector verifies through every kind it carries", () => {
  it("covers all three kinds", () => {
    expect(new Set(vectors.map((v) => v.kind))).toEqual(
      new Set(["pkcs7-dsa", "pkcs7-rsa2048", "rsa-signature"]),
    );
  });

  it.each(vectors.map((v) => [v.id, v] as const))("%s", (_id, v) => {
    const wire = encodeAttestationPayload({
      signature: "",
      rsa2048: "",
      ...payloadOf(v),
    });
    const id = verifyInstanceIdentitySync(wire, { store });
    expect(id.kind).toBe(FIELD[v.kind] === "signature" ? "rsa" : FIELD[v.kind]);
    expect(id.document.accountId).toBe(v.account_id);
    expect(id.document.instanceId).toBe(v.instance_id);
    expect(id.document.region).toBe(v.region);
    expect(`${id.certificate.name}.pem`).toBe(v.verified_with_cert);
    expect(id.certificate.source).toBe("embedded");
  });

  it("verifies the single-line (unwrapped) base64 form too", () => {
    for (const v of vectors) expect(attempt(payloadOf(v, v.signature.replace(/\n/g, "")))).toBe(v.document);
  });
});

describe("the embedded certificate set", () => {
  it("holds every current AWS certificate of every partition, byte for byte", () => {
    const current = certsInfo.filter((c) => c.status === "current");
    expect(new Set(current.map((c) => c.partition))).toEqual(
      new Set(["aws", "aws-us-gov", "aws-cn", "aws-eusc"]),
    );
    for (const c of current) {
      const [region] = c.regions;
      const found = store.candidates(region!, c.kind);
      expect(
        found.map((f) => f.fingerprint),
        c.file,
      ).toEqual([c.sha256_fingerprint]);
      expect(found[0]!.partition).toBe(c.partition);
      const pem = readFileSync(join(DIR, "certs", c.file), "utf8");
      const der = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
      expect(EMBEDDED_CERTIFICATES.find((e) => `${e.name}.pem` === c.file)?.der).toBe(der);
    }
    expect(EMBEDDED_CERTIFICATES).toHaveLength(current.length);
  });

  it("leaves out only superseded/legacy RSA certificates whose key a current certificate carries", () => {
    // Decision recorded in scripts/update-aws-certs.ts: /signature verification uses only the key.
    const old = certsInfo.filter((c) => c.status !== "current");
    expect(old.length).toBeGreaterThan(0);
    for (const c of old) expect(c.kind).toBe("rsa");
  });
});

describe("wrong certificates are rejected", () => {
  it("a vector does not verify when its document is relabelled with another region", () => {
    for (const v of vectors) {
      const other = v.region === "us-west-2" ? "eu-central-1" : "us-west-2";
      const doc = v.document.replace(`"region" : "${v.region}"`, `"region" : "${other}"`);
      expect(doc).not.toBe(v.document);
      expect(attempt(payloadOf(v, v.signature, doc)), v.id).toBeUndefined();
    }
  });

  it("an RSA-2048 vector does not verify against another region's RSA-2048 certificate", () => {
    const v = vectors.find((x) => x.id === "teleport-2021-us-west-2-rsa2048")!;
    const usWest1 = store.candidates("us-west-1", "rsa2048");
    const rebound = CertificateStore.of(
      [],
      usWest1.map((c) => ({ ...c, region: "us-west-2" })),
    );
    expect(attempt(payloadOf(v), rebound)).toBeUndefined();
  });
});

/** Verifies `der` in place of the vector's PKCS#7; true when accepted. */
function acceptsPkcs7(v: Vector, der: Uint8Array): string | undefined {
  return attempt(payloadOf(v, encodeBase64Lines(der)));
}

/** Every single-bit flip and the complement at each position; all 255 values with FLIP_ALL=1. */
function mutations(length: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const masks =
    process.env.FLIP_ALL === "1"
      ? Array.from({ length: 255 }, (_, i) => i + 1)
      : [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff];
  for (let pos = 0; pos < length; pos++) for (const m of masks) out.push([pos, m]);
  return out;
}

/** The signatureAlgorithm OID's last byte (…01 01 01 rsaEncryption / …01 01 0b sha256WithRSA). */
function signatureAlgorithmLastByte(der: Buffer): number {
  const signer = parseSignedData(der).signerInfos[0]!;
  const sigStart = der.indexOf(Buffer.from(signer.signature)) - 4; // 04 82 01 00 before the value
  const oidEnd = sigStart - 2; // then 05 00 (NULL) before that
  return oidEnd - 1;
}

describe("every single-byte change is rejected", () => {
  it.each(vectors.filter((v) => v.kind !== "rsa-signature").map((v) => [v.id, v] as const))(
    "PKCS#7 bytes of %s",
    (_id, v) => {
      const der = decodeBase64Strict(v.signature);
      const accepted: string[] = [];
      for (const [pos, mask] of mutations(der.length)) {
        const copy = Buffer.from(der);
        copy[pos]! ^= mask;
        const result = acceptsPkcs7(v, copy);
        if (result !== undefined) {
          // Never a different identity: the content and attributes are signed.
          expect(result).toBe(v.document);
          accepted.push(`${pos}:${copy[pos]!.toString(16)}`);
        }
      }
      // See the synonym test below; it is reachable only with FLIP_ALL=1 (XOR 0x0a).
      const synonym = parseSignedData(der).signerInfos[0]!.signatureAlgorithm.oid === "2a864886f70d010101";
      const pos = signatureAlgorithmLastByte(der);
      expect(accepted).toEqual(synonym && process.env.FLIP_ALL === "1" ? [`${pos}:b`] : []);
    },
  );

  it("accepts only one unsigned synonym, and only where AWS's own history forces it", () => {
    // The 2018 signatures name rsaEncryption, the 2021 ones sha256WithRSAEncryption; both mean
    // RSA PKCS#1 v1.5 with the SignerInfo's SHA-256. Where a cmsAlgorithmProtection attribute
    // (signed) names the algorithm, the swap is rejected; where it is absent it cannot be, and the
    // verified identity is unchanged.
    const old = vectors.find((x) => x.id === "taskcluster-2018-us-west-2-rsa2048")!;
    const oldDer = decodeBase64Strict(old.signature);
    const swapped = Buffer.from(oldDer);
    const at = signatureAlgorithmLastByte(oldDer);
    expect(swapped[at]).toBe(0x01);
    swapped[at] = 0x0b;
    expect(acceptsPkcs7(old, swapped)).toBe(old.document);

    const recent = vectors.find((x) => x.id === "teleport-2021-us-west-2-rsa2048")!;
    const recentDer = decodeBase64Strict(recent.signature);
    const back = Buffer.from(recentDer);
    const at2 = signatureAlgorithmLastByte(recentDer);
    expect(back[at2]).toBe(0x0b);
    back[at2] = 0x01;
    expect(acceptsPkcs7(recent, back)).toBeUndefined();
  });

  it.each(vectors.filter((v) => v.kind === "rsa-signature").map((v) => [v.id, v] as const))(
    "legacy signature bytes of %s (all 255 values: cheap)",
    (_id, v) => {
      const sig = decodeBase64Strict(v.signature);
      for (let pos = 0; pos < sig.length; pos++) {
        for (let mask = 1; mask < 256; mask++) {
          const copy = Buffer.from(sig);
          copy[pos]! ^= mask;
          expect(attempt(payloadOf(v, encodeBase64Lines(copy)))).toBeUndefined();
        }
      }
    },
  );

  it.each(vectors.map((v) => [v.id, v] as const))("document bytes of %s", (_id, v) => {
    const doc = Buffer.from(v.document, "utf8");
    for (const [pos, mask] of mutations(doc.length)) {
      const copy = Buffer.from(doc);
      copy[pos]! ^= mask;
      expect(attempt(payloadOf(v, v.signature, copy.toString("utf8")))).toBeUndefined();
    }
  });
});

describe("differential check against pkijs (an independent CMS implementation)", () => {
  it("extracts the same content and verifies the same RSA signatures", async () => {
    const asn1js = await import("asn1js");
    const pkijs = await import("pkijs");
    for (const v of vectors.filter((x) => x.kind !== "rsa-signature")) {
      const der = decodeBase64Strict(v.signature);
      const info = new pkijs.ContentInfo({ schema: asn1js.fromBER(new Uint8Array(der)).result });
      const sd = new pkijs.SignedData({ schema: info.content });
      const theirs = Buffer.from(sd.encapContentInfo.eContent!.getValue());
      expect(theirs.equals(Buffer.from(parseSignedData(der).content))).toBe(true);
      if (v.kind === "pkcs7-rsa2048") {
        const certDer = Buffer.from(
          EMBEDDED_CERTIFICATES.find((e) => `${e.name}.pem` === v.verified_with_cert)!.der,
          "base64",
        );
        const cert = new pkijs.Certificate({ schema: asn1js.fromBER(new Uint8Array(certDer)).result });
        // What SPIRE does too: put the region certificate in the (empty) bag before verifying.
        sd.certificates = [cert];
        const ok = await sd.verify({ signer: 0, checkChain: false, extendedMode: false });
        expect(ok).toBe(true);
      }
    }
  });
});

it("maps each rejection to PermissionDenied and each malformed input to InvalidArgument", () => {
  const v = vectors.find((x) => x.id === "teleport-2021-us-west-2-rsa2048")!;
  const der = decodeBase64Strict(v.signature);
  const flippedSig = Buffer.from(der);
  flippedSig[der.length - 20]! ^= 1; // inside the RSA signature value
  try {
    verifyInstanceIdentitySync(payloadOf(v, encodeBase64Lines(flippedSig)), { store });
    expect.unreachable();
  } catch (err) {
    expect(isPluginError(err) && err.code).toBe(Code.PermissionDenied);
  }
  try {
    verifyInstanceIdentitySync(payloadOf(v, encodeBase64Lines(der.subarray(0, 100))), { store });
    expect.unreachable();
  } catch (err) {
    expect(isPluginError(err) && err.code).toBe(Code.InvalidArgument);
  }
});
