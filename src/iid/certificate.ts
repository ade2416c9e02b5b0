import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import {
  Asn1Error,
  checkMinimalInteger,
  content,
  expectChildren,
  expectTag,
  readRoot,
  Tag,
  whole,
} from "./ber";

/** Which IMDS signature a certificate verifies, named as in `aws_certificate { kind = … }`. */
export type CertificateKind = "rsa2048" | "rsa" | "dsa";

export const CERTIFICATE_KINDS: readonly CertificateKind[] = ["rsa2048", "rsa", "dsa"];

export type CertificateSource = "embedded" | "operator";

/** One entry of `certs/generated.ts`. */
export interface EmbeddedCertificate {
  readonly name: string;
  readonly partition: string;
  readonly region: string;
  readonly kind: CertificateKind;
  /** Base64 DER. */
  readonly der: string;
}

/** What names a trusted certificate in logs and `verify` output. */
export interface CertificateIdentity {
  /** e.g. `aws-us-east-1-rsa2048`, or `aws_certificate:/etc/spire/new-region.pem`. */
  readonly name: string;
  readonly partition: string;
  readonly region: string;
  readonly kind: CertificateKind;
  readonly source: CertificateSource;
  /** SHA-256 of the DER certificate, lowercase hex. */
  readonly fingerprint: string;
}

/** A certificate parsed once and kept with everything verification needs. */
export interface TrustedCertificate extends CertificateIdentity {
  readonly keyType: "rsa" | "dsa";
  readonly keyBits: number;
  readonly publicKey: KeyObject;
  /** DER of the issuer Name, compared byte for byte with a SignerInfo's sid. */
  readonly issuerDer: Buffer;
  /** Content octets of the serialNumber INTEGER. */
  readonly serialDer: Buffer;
  readonly notAfter: Date;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\r\n\t ]+)-----END CERTIFICATE-----/g;

/** DER bytes of every CERTIFICATE block in a PEM text. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(PEM_CERTIFICATE)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  return out;
}

/**
 * Parses one DER certificate. `X509Certificate` gives the key; the issuer Name and serial are
 * read from the TBSCertificate bytes because CMS matches its signer on their exact encoding
 * (RFC 5652 §5.3 IssuerAndSerialNumber), which node:crypto does not expose.
 */
export function parseTrustedCertificate(
  der: Buffer,
  meta: Omit<CertificateIdentity, "fingerprint">,
): TrustedCertificate {
  const x509 = new X509Certificate(der);
  const root = readRoot(der);
  const [tbs] = expectChildren(der, root, Tag.Sequence, "Certificate", 3, 3);
  const fields = expectChildren(der, tbs, Tag.Sequence, "TBSCertificate", 6, 10);
  let i = fields[0]?.tag === Tag.Context0 ? 1 : 0;
  const serial = expectTag(fields[i++], Tag.Integer, "serialNumber");
  checkMinimalInteger(content(der, serial), "serialNumber");
  expectTag(fields[i++], Tag.Sequence, "signature");
  const issuer = expectTag(fields[i++], Tag.Sequence, "issuer");
  const publicKey = x509.publicKey;
  const type = publicKey.asymmetricKeyType;
  if (type !== "rsa" && type !== "dsa") throw new Asn1Error(`unsupported public key type ${String(type)}`);
  return {
    ...meta,
    fingerprint: createHash("sha256").update(der).digest("hex"),
    keyType: type,
    keyBits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    publicKey,
    issuerDer: Buffer.from(whole(der, issuer)),
    serialDer: Buffer.from(content(der, serial)),
    notAfter: new Date(x509.validTo),
  };
}

export function certificateIdentity(cert: TrustedCertificate): CertificateIdentity {
  return {
    name: cert.name,
    partition: cert.partition,
    region: cert.region,
    kind: cert.kind,
    source: cert.source,
    fingerprint: cert.fingerprint,
  };
}
