/**
 * CMS SignedData (RFC 5652) as AWS serves it on IMDS `/rsa2048` and `/pkcs7`: BER with
 * indefinite lengths, the document encapsulated as a chunked OCTET STRING, no certificates,
 * one signer identified by issuer and serial, signed attributes always present.
 *
 * Parsing (`parseSignedData`) only checks ASN.1 shape; every failure is a malformed input.
 * Verification (`verifySignedData`) decides trust; every failure is a rejection. The split is
 * what lets the caller map the first to InvalidArgument and the second to PermissionDenied.
 */
import { createHash, verify as cryptoVerify, timingSafeEqual } from "node:crypto";
import {
  Asn1Error,
  children,
  content,
  expectChildren,
  expectTag,
  readOctetString,
  readRoot,
  readSmallInteger,
  readTlv,
  Tag,
  type Tlv,
  whole,
} from "./ber";
import type { TrustedCertificate } from "./certificate";
import { Oid, oidToDotted } from "./oids";

export interface AlgorithmId {
  /** Hex content octets of the OID. */
  readonly oid: string;
  readonly params: "absent" | "null";
}

export interface SignedAttribute {
  readonly oid: string;
  /** Each value's complete encoding (tag, length, content). */
  readonly values: readonly Uint8Array[];
}

export interface ParsedSignerInfo {
  readonly issuerDer: Uint8Array;
  readonly serialDer: Uint8Array;
  readonly digestAlgorithm: AlgorithmId;
  /** The signed attributes re-tagged as `SET OF` (0x31): the exact bytes the signature covers. */
  readonly signedAttributesForSignature: Buffer;
  readonly signedAttributes: readonly SignedAttribute[];
  readonly signatureAlgorithm: AlgorithmId;
  readonly signature: Uint8Array;
}

export interface ParsedSignedData {
  readonly digestAlgorithms: readonly AlgorithmId[];
  readonly contentType: string;
  /** The encapsulated content, chunks joined. */
  readonly content: Uint8Array;
  readonly signerInfos: readonly ParsedSignerInfo[];
}

function oidOf(buf: Uint8Array, tlv: Tlv | undefined, what: string): string {
  const t = expectTag(tlv, Tag.Oid, what);
  if (t.contentEnd === t.contentStart) throw new Asn1Error(`${what}: empty OID`);
  return Buffer.from(content(buf, t)).toString("hex");
}

function algorithmId(buf: Uint8Array, tlv: Tlv | undefined, what: string): AlgorithmId {
  const items = expectChildren(buf, tlv, Tag.Sequence, what, 1, 2);
  const oid = oidOf(buf, items[0], `${what} algorithm`);
  const params = items[1];
  if (params === undefined) return { oid, params: "absent" };
  if (params.tag !== Tag.Null || params.contentEnd !== params.contentStart) {
    throw new Asn1Error(`${what}: unsupported algorithm parameters`);
  }
  return { oid, params: "null" };
}

/** Parses a DER/BER ContentInfo holding SignedData. Throws `Asn1Error` on malformed input. */
export function parseSignedData(der: Uint8Array): ParsedSignedData {
  const root = readRoot(der);
  const [ctype, explicit] = expectChildren(der, root, Tag.Sequence, "ContentInfo", 2, 2);
  if (oidOf(der, ctype, "ContentInfo contentType") !== Oid.signedData) {
    throw new Asn1Error("ContentInfo is not SignedData");
  }
  const [sd] = expectChildren(der, explicit, Tag.Context0, "ContentInfo content", 1, 1);
  const fields = expectChildren(der, sd, Tag.Sequence, "SignedData", 4, 6);
  const version = readSmallInteger(der, fields[0], "SignedData version");
  if (version !== 1) throw new Asn1Error(`SignedData version ${version} is not supported (expected 1)`);
  const digestAlgorithms = expectChildren(der, fields[1], Tag.Set, "digestAlgorithms", 0, 8).map((a) =>
    algorithmId(der, a, "digestAlgorithm"),
  );
  const [eType, eExplicit] = expectChildren(der, fields[2], Tag.Sequence, "EncapsulatedContentInfo", 1, 2);
  const contentType = oidOf(der, eType, "eContentType");
  if (eExplicit === undefined) throw new Asn1Error("detached content is not supported");
  const [eContent] = expectChildren(der, eExplicit, Tag.Context0, "eContent", 1, 1);
  const encapsulated = readOctetString(der, eContent, "eContent");
  // AWS never embeds certificates or CRLs (SPIRE even replaces the bag with its own region
  // certificate); refusing them keeps attacker-supplied certificates out of the picture.
  if (fields.length !== 4) {
    throw new Asn1Error("SignedData with certificates or CRLs is not supported (AWS sends neither)");
  }
  const signerInfos = children(der, expectTag(fields[3], Tag.Set, "signerInfos")).map((s) =>
    parseSignerInfo(der, s),
  );
  return { digestAlgorithms, contentType, content: encapsulated, signerInfos };
}

function parseSignerInfo(der: Uint8Array, tlv: Tlv): ParsedSignerInfo {
  const fields = expectChildren(der, tlv, Tag.Sequence, "SignerInfo", 5, 7);
  const version = readSmallInteger(der, fields[0], "SignerInfo version");
  if (version !== 1) throw new Asn1Error(`SignerInfo version ${version} is not supported (expected 1)`);
  const [issuer, serial] = expectChildren(der, fields[1], Tag.Sequence, "issuerAndSerialNumber", 2, 2);
  expectTag(issuer, Tag.Sequence, "issuer");
  expectTag(serial, Tag.Integer, "serialNumber");
  const digestAlgorithm = algorithmId(der, fields[2], "SignerInfo digestAlgorithm");
  const attrs = expectTag(fields[3], Tag.Context0, "signedAttrs");
  // The signature covers the DER encoding of the attributes as a SET. Re-tagging the original
  // bytes is only faithful for a definite length; re-encoding them (as lenient libraries do)
  // can change what the signature is checked over.
  if (attrs.indefinite) throw new Asn1Error("signedAttrs with an indefinite length");
  const signedAttributesForSignature = Buffer.from(whole(der, attrs));
  signedAttributesForSignature[0] = Tag.Set;
  const signedAttributes = children(der, attrs).map((a) => {
    const [type, values] = expectChildren(der, a, Tag.Sequence, "Attribute", 2, 2);
    return {
      oid: oidOf(der, type, "attribute type"),
      values: expectChildren(der, values, Tag.Set, "attribute values", 1, 16).map((v) => whole(der, v)),
    };
  });
  const signatureAlgorithm = algorithmId(der, fields[4], "SignerInfo signatureAlgorithm");
  const signature = content(der, expectTag(fields[5], Tag.OctetString, "signature"));
  if (fields.length !== 6) throw new Asn1Error("unsigned attributes are not supported (AWS sends none)");
  return {
    issuerDer: whole(der, issuer!),
    serialDer: content(der, serial!),
    digestAlgorithm,
    signedAttributesForSignature,
    signedAttributes,
    signatureAlgorithm,
    signature,
  };
}

/** A rejection of a well-formed SignedData: the caller reports it as PermissionDenied. */
export class CmsVerificationError extends Error {
  override readonly name = "CmsVerificationError";
}

interface SignatureRule {
  readonly keyType: "rsa" | "dsa";
  readonly signatureAlgorithm: string;
  readonly digest: string;
  /** Parameter forms accepted for the signature algorithm (RFC 3279: DSA has none). */
  readonly params: readonly ("absent" | "null")[];
}

const RSA_PARAMS = ["null", "absent"] as const;
const DSA_PARAMS = ["absent"] as const;

/**
 * (key type, signature algorithm, digest) combinations AWS uses, per certificate kind. The
 * signatureAlgorithm field is not covered by the signature, so anything outside this list is
 * refused rather than interpreted (a verifier that ignored it accepted 282 of 2,559 single-bit
 * corruptions of a real AWS signature when we flipped every bit of it). `rsaEncryption` appears because OpenSSL wrote it for
 * the 2018 `/rsa2048` signatures; the digest then comes from the SignerInfo.
 */
const RULES: Readonly<Record<"rsa2048" | "dsa", readonly SignatureRule[]>> = {
  rsa2048: [
    { keyType: "rsa", signatureAlgorithm: Oid.rsaEncryption, digest: Oid.sha256, params: RSA_PARAMS },
    {
      keyType: "rsa",
      signatureAlgorithm: Oid.sha256WithRsaEncryption,
      digest: Oid.sha256,
      params: RSA_PARAMS,
    },
  ],
  // `/pkcs7`: DSA-1024 with SHA-1 everywhere except the China partition, whose "DSA"
  // certificate holds an RSA-2048 key (certs.json); its digest is not observed, so SHA-1 and
  // SHA-256 are both allowed there, as for DSA.
  dsa: [
    { keyType: "dsa", signatureAlgorithm: Oid.dsaWithSha1, digest: Oid.sha1, params: DSA_PARAMS },
    { keyType: "dsa", signatureAlgorithm: Oid.dsaWithSha256, digest: Oid.sha256, params: DSA_PARAMS },
    { keyType: "rsa", signatureAlgorithm: Oid.rsaEncryption, digest: Oid.sha256, params: RSA_PARAMS },
    { keyType: "rsa", signatureAlgorithm: Oid.rsaEncryption, digest: Oid.sha1, params: RSA_PARAMS },
    {
      keyType: "rsa",
      signatureAlgorithm: Oid.sha256WithRsaEncryption,
      digest: Oid.sha256,
      params: RSA_PARAMS,
    },
    { keyType: "rsa", signatureAlgorithm: Oid.sha1WithRsaEncryption, digest: Oid.sha1, params: RSA_PARAMS },
  ],
};

const HASH_NAME: Readonly<Record<string, "sha1" | "sha256">> = { [Oid.sha1]: "sha1", [Oid.sha256]: "sha256" };

function sameAlgorithm(a: AlgorithmId, b: AlgorithmId): boolean {
  return a.oid === b.oid && a.params === b.params;
}

function attribute(
  signer: ParsedSignerInfo,
  oid: string,
  what: string,
  required: boolean,
): Uint8Array | undefined {
  const found = signer.signedAttributes.filter((a) => a.oid === oid);
  if (found.length === 0) {
    if (required) throw new CmsVerificationError(`missing ${what} signed attribute`);
    return undefined;
  }
  // RFC 5652 §11: these attributes are single-valued and must not be repeated; a second copy
  // is how an attacker would try to smuggle a different value past a first-match reader.
  if (found.length > 1 || found[0]!.values.length !== 1) {
    throw new CmsVerificationError(`${what} signed attribute must have exactly one value`);
  }
  return found[0]!.values[0]!;
}

function parseAlgorithmValue(bytes: Uint8Array, tag: number, what: string): AlgorithmId {
  const tlv = readTlv(bytes, 0, bytes.length);
  // Re-read as a SEQUENCE so the shared AlgorithmIdentifier checks apply to [n] IMPLICIT forms.
  const copy = Buffer.from(bytes.subarray(tlv.start, tlv.end));
  expectTag(tlv, tag, what);
  copy[0] = Tag.Sequence;
  return algorithmId(copy, readTlv(copy, 0, copy.length), what);
}

/**
 * Verifies a parsed SignedData against the candidate certificates of one region and kind, and
 * returns the verified content with the certificate that verified it. Throws
 * `CmsVerificationError` for any rejection (and `Asn1Error` for malformed attribute values).
 */
export function verifySignedData(
  parsed: ParsedSignedData,
  candidates: readonly TrustedCertificate[],
  kind: "rsa2048" | "dsa",
): { content: Uint8Array; certificate: TrustedCertificate } {
  if (parsed.contentType !== Oid.data) {
    throw new CmsVerificationError(`unexpected content type ${oidToDotted(parsed.contentType)}`);
  }
  if (parsed.signerInfos.length !== 1) {
    throw new CmsVerificationError(`expected exactly one signer, found ${parsed.signerInfos.length}`);
  }
  const signer = parsed.signerInfos[0]!;
  // An unsigned field an attacker could otherwise pad with algorithms we never check.
  if (
    parsed.digestAlgorithms.length !== 1 ||
    !sameAlgorithm(parsed.digestAlgorithms[0]!, signer.digestAlgorithm)
  ) {
    throw new CmsVerificationError("digestAlgorithms must list exactly the signer's digest algorithm");
  }
  const matching = candidates.filter(
    (c) =>
      Buffer.compare(c.issuerDer, signer.issuerDer) === 0 &&
      Buffer.compare(c.serialDer, signer.serialDer) === 0,
  );
  if (matching.length === 0) {
    throw new CmsVerificationError("no trusted certificate matches the signer's issuer and serial number");
  }
  const hash = HASH_NAME[signer.digestAlgorithm.oid];
  if (hash === undefined) {
    throw new CmsVerificationError(
      `digest algorithm ${oidToDotted(signer.digestAlgorithm.oid)} is not allowed`,
    );
  }
  // contentType attribute must name the eContentType (RFC 5652 §11.1), or a signature over one
  // content type could be replayed as another.
  const ctype = attribute(signer, Oid.contentType, "contentType", true)!;
  if (Buffer.from(ctype).toString("hex") !== `0609${Oid.data}`) {
    throw new CmsVerificationError("contentType signed attribute does not match the content type");
  }
  const digest = attribute(signer, Oid.messageDigest, "messageDigest", true)!;
  const digestTlv = readTlv(digest, 0, digest.length);
  expectTag(digestTlv, Tag.OctetString, "messageDigest");
  const expected = createHash(hash).update(parsed.content).digest();
  const actual = content(digest, digestTlv);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new CmsVerificationError("messageDigest signed attribute does not match the content");
  }
  // RFC 6211: when present, the protected algorithms must be the ones actually used.
  const protection = attribute(signer, Oid.cmsAlgorithmProtection, "cmsAlgorithmProtection", false);
  if (protection !== undefined) {
    const items = expectChildren(
      protection,
      readTlv(protection, 0, protection.length),
      Tag.Sequence,
      "CMSAlgorithmProtection",
      2,
      2,
    );
    const protectedDigest = algorithmId(protection, items[0], "protected digestAlgorithm");
    const protectedSignature = parseAlgorithmValue(
      whole(protection, items[1]!),
      Tag.Context1,
      "protected signatureAlgorithm",
    );
    if (
      !sameAlgorithm(protectedDigest, signer.digestAlgorithm) ||
      !sameAlgorithm(protectedSignature, signer.signatureAlgorithm)
    ) {
      throw new CmsVerificationError("cmsAlgorithmProtection does not match the signer's algorithms");
    }
  }
  let lastReason = "signature does not verify";
  for (const cert of matching) {
    const rule = RULES[kind].find(
      (r) =>
        r.keyType === cert.keyType &&
        r.signatureAlgorithm === signer.signatureAlgorithm.oid &&
        r.digest === signer.digestAlgorithm.oid &&
        r.params.includes(signer.signatureAlgorithm.params),
    );
    if (rule === undefined) {
      lastReason = `signature algorithm ${oidToDotted(signer.signatureAlgorithm.oid)} with digest ${oidToDotted(signer.digestAlgorithm.oid)} is not allowed for a ${cert.keyType.toUpperCase()} ${kind} certificate`;
      continue;
    }
    if (verifySignature(hash, signer.signedAttributesForSignature, cert, signer.signature)) {
      return { content: parsed.content, certificate: cert };
    }
  }
  throw new CmsVerificationError(lastReason);
}

/**
 * node:crypto verify (DSA signatures in DER, its default encoding, as in CMS), with anything it
 * throws on (a key type that takes no digest, such as Ed25519) reported as false.
 */
export function verifySignature(
  hash: "sha1" | "sha256",
  data: Uint8Array,
  cert: TrustedCertificate,
  signature: Uint8Array,
): boolean {
  try {
    return cryptoVerify(hash, data, cert.publicKey, signature);
  } catch {
    return false;
  }
}
