/**
 * A stand-in for AWS's instance identity signing, for the loopback fake IMDS, tests and the
 * demo. It signs documents in all three IMDS forms with the same encodings AWS serves, so the
 * verifier is exercised on AWS's shapes, not on a friendlier format:
 *
 * - `/rsa2048`: CMS SignedData, RSA-2048 + SHA-256, BER with indefinite lengths (AWS streams
 *   through OpenSSL), the document encapsulated as a constructed (chunked) OCTET STRING, no
 *   certificates, signed attributes contentType, signingTime, messageDigest; base64 in
 *   76-column lines without PEM armour.
 * - `/signature`: base64 RSA PKCS#1 v1.5 over SHA-256 of the document bytes (RSA-1024 like AWS).
 * - `/pkcs7`: the same SignedData shape with DSA-1024 + SHA-1.
 *
 * Certificates are self-signed in AWS's style (v3 RSA with sha256WithRSAEncryption, v1 DSA with
 * dsa-with-sha1, C/ST/L/O subject), but with an organisation that says "test CA" so they are
 * never mistaken for AWS's. A server trusts them through `aws_certificate` entries.
 *
 * Keys are generated once per process (`getTestCa`); `createTestCa` makes an independent CA
 * (for "signed by someone else" tests).
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeBase64Lines } from "../iid/base64";
import { CERTIFICATE_KINDS, type CertificateKind, type TrustedCertificate } from "../iid/certificate";
import { CertificateStore, parseOperatorCertificate } from "../iid/certificate-store";
import { Oid } from "../iid/oids";
import { algorithm, indefinite, integer, name, oid, seq, setOf, time, tlv } from "./der";

// --- the CA -------------------------------------------------------------------------------

export const TEST_CA_ORGANIZATION = "spire-aws-iid test CA (not AWS)";

export interface TestCertificate {
  readonly kind: CertificateKind;
  readonly pem: string;
  readonly der: Buffer;
  readonly issuerDer: Buffer;
  readonly serial: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface SignOptions {
  /** signingTime attribute; defaults to now. */
  readonly signingTime?: Date;
  /** Size of the encapsulated-content chunks (AWS/OpenSSL stream in chunks of up to 4 KiB). */
  readonly chunkSize?: number;
  /**
   * Forgeries for the verifier's negative tests (AWS never produces these):
   * - `embeddedContent`: encapsulate this text instead of the signed document, keeping the signed
   *   attributes (and so the messageDigest) of the signed one;
   * - `contentTypeAttribute`: the OID (hex content octets) the contentType attribute names;
   * - `extraSigner`: a second, otherwise valid SignerInfo by this CA's certificate.
   */
  readonly embeddedContent?: string;
  readonly contentTypeAttribute?: string;
  readonly extraSigner?: boolean;
  /** The digest (default: SHA-256 for `/rsa2048`, SHA-1 for `/pkcs7`, as AWS signs). */
  readonly digest?: "sha1" | "sha256";
}

/** The three IMDS signature texts for one document. */
export interface SignedIdentity {
  readonly document: string;
  /** `/rsa2048` */
  readonly rsa2048: string;
  /** `/signature` */
  readonly signature: string;
  /** `/pkcs7` */
  readonly pkcs7: string;
}

export interface AwsCertificateEntry {
  readonly region: string;
  readonly kind: CertificateKind;
  readonly pemPath: string;
}

export interface TestCa {
  readonly certificates: Readonly<Record<CertificateKind, TestCertificate>>;
  /** `/rsa2048` text for a document. */
  signRsa2048(document: string, options?: SignOptions): string;
  /** `/signature` text for a document. */
  signRsa(document: string): string;
  /** `/pkcs7` text for a document. */
  signPkcs7(document: string, options?: SignOptions): string;
  /** All three forms. */
  sign(document: string, options?: SignOptions): SignedIdentity;
  /** Parsed certificates for `region`, as `aws_certificate` entries would load them. */
  trustedCertificates(regions: readonly string[]): TrustedCertificate[];
  /** The embedded AWS set plus this CA for `regions` (what a server with aws_certificate has). */
  store(regions: readonly string[], options?: { embedded?: boolean }): CertificateStore;
  /** Writes the three PEMs into `dir` and returns `aws_certificate` entries for `regions`. */
  writeAwsCertificateEntries(dir: string, regions: readonly string[]): AwsCertificateEntry[];
}

function selfSigned(kind: CertificateKind, privateKey: KeyObject, publicKey: KeyObject): TestCertificate {
  const dsa = kind === "dsa";
  const sigAlg = dsa ? algorithm(Oid.dsaWithSha1, "absent") : algorithm(Oid.sha256WithRsaEncryption, "null");
  const serialBytes = randomBytes(8);
  serialBytes[0] = (serialBytes[0]! & 0x7f) | 0x01; // positive, 8 bytes like AWS's
  const issuer = name(TEST_CA_ORGANIZATION);
  const tbs = seq(
    // AWS's RSA certificates are v3, its DSA certificates v1.
    ...(dsa ? [] : [tlv(0xa0, integer(2))]),
    integer(serialBytes),
    sigAlg,
    issuer,
    seq(time(new Date("2020-01-01T00:00:00Z")), time(new Date("2199-01-01T00:00:00Z"))),
    issuer,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = dsa
    ? sign("sha1", tbs, { key: privateKey, dsaEncoding: "der" })
    : sign("sha256", tbs, privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.from([0]), signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${encodeBase64Lines(der, 64)}\n-----END CERTIFICATE-----\n`;
  return { kind, pem, der, issuerDer: issuer, serial: serialBytes, privateKey, publicKey };
}

function signedData(
  document: Buffer,
  cert: TestCertificate,
  digest: "sha1" | "sha256",
  options: SignOptions,
): Buffer {
  const digestOid = digest === "sha1" ? Oid.sha1 : Oid.sha256;
  const digestAlg = algorithm(digestOid, "null");
  const attrs = [
    seq(oid(Oid.contentType), setOf(oid(options.contentTypeAttribute ?? Oid.data))),
    seq(oid(Oid.signingTime), setOf(time(options.signingTime ?? new Date()))),
    seq(oid(Oid.messageDigest), setOf(tlv(0x04, createHash(digest).update(document).digest()))),
  ];
  const signedAttrs = setOf(...attrs); // signed as SET OF, sent as [0] IMPLICIT
  const signature =
    cert.kind === "dsa"
      ? sign(digest, signedAttrs, { key: cert.privateKey, dsaEncoding: "der" })
      : sign(digest, signedAttrs, cert.privateKey);
  const sentAttrs = Buffer.from(signedAttrs);
  sentAttrs[0] = 0xa0;
  const signerInfo = seq(
    integer(1),
    seq(cert.issuerDer, integer(cert.serial)),
    digestAlg,
    sentAttrs,
    cert.kind === "dsa" ? algorithm(Oid.dsaWithSha1, "absent") : algorithm(Oid.rsaEncryption, "null"),
    tlv(0x04, signature),
  );
  const embedded =
    options.embeddedContent === undefined ? document : Buffer.from(options.embeddedContent, "utf8");
  const chunkSize = Math.max(1, options.chunkSize ?? 4096);
  const chunks: Buffer[] = [];
  for (let i = 0; i < embedded.length; i += chunkSize)
    chunks.push(tlv(0x04, embedded.subarray(i, i + chunkSize)));
  const signerInfos = options.extraSigner ? [signerInfo, Buffer.from(signerInfo)] : [signerInfo];
  return indefinite(
    0x30,
    oid(Oid.signedData),
    indefinite(
      0xa0,
      indefinite(
        0x30,
        integer(1),
        setOf(digestAlg),
        indefinite(0x30, oid(Oid.data), indefinite(0xa0, indefinite(0x24, ...chunks))),
        tlv(0x31, ...signerInfos),
      ),
    ),
  );
}

/** A new, independent CA (keys generated now). */
export function createTestCa(): TestCa {
  const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const certificates: Record<CertificateKind, TestCertificate> = {
    rsa2048: selfSigned("rsa2048", rsa2048.privateKey, rsa2048.publicKey),
    rsa: selfSigned("rsa", rsa.privateKey, rsa.publicKey),
    dsa: selfSigned("dsa", dsa.privateKey, dsa.publicKey),
  };
  const kinds = CERTIFICATE_KINDS;
  const ca: TestCa = {
    certificates,
    signRsa2048: (document, options = {}) =>
      encodeBase64Lines(
        signedData(Buffer.from(document, "utf8"), certificates.rsa2048, options.digest ?? "sha256", options),
      ),
    signRsa: (document) =>
      encodeBase64Lines(sign("sha256", Buffer.from(document, "utf8"), certificates.rsa.privateKey)),
    signPkcs7: (document, options = {}) =>
      encodeBase64Lines(
        signedData(Buffer.from(document, "utf8"), certificates.dsa, options.digest ?? "sha1", options),
      ),
    sign: (document, options = {}) => ({
      document,
      rsa2048: ca.signRsa2048(document, options),
      signature: ca.signRsa(document),
      pkcs7: ca.signPkcs7(document, options),
    }),
    trustedCertificates: (regions) =>
      regions.flatMap((region) =>
        kinds.map((kind) =>
          parseOperatorCertificate(certificates[kind].pem, region, kind, `test-ca-${kind}.pem`),
        ),
      ),
    store: (regions, options = {}) =>
      options.embedded === false
        ? CertificateStore.of([], ca.trustedCertificates(regions))
        : CertificateStore.withOperatorCertificates(ca.trustedCertificates(regions)),
    writeAwsCertificateEntries: (dir, regions) => {
      mkdirSync(dir, { recursive: true });
      const paths = {} as Record<CertificateKind, string>;
      for (const kind of kinds) {
        paths[kind] = join(dir, `test-ca-${kind}.pem`);
        writeFileSync(paths[kind], certificates[kind].pem);
      }
      return regions.flatMap((region) => kinds.map((kind) => ({ region, kind, pemPath: paths[kind] })));
    },
  };
  return ca;
}

let shared: TestCa | undefined;

/** The process-wide test CA (keys generated on first use, ~0.2 s). */
export function getTestCa(): TestCa {
  shared ??= createTestCa();
  return shared;
}

// --- documents ----------------------------------------------------------------------------

export interface IidDocumentFields {
  accountId: string;
  architecture: string;
  availabilityZone: string;
  billingProducts: readonly string[] | null;
  devpayProductCodes: readonly string[] | null;
  marketplaceProductCodes: readonly string[] | null;
  imageId: string;
  instanceId: string;
  instanceType: string;
  kernelId: string | null;
  /** Date or AWS text (`2021-09-03T21:25:44Z`). */
  pendingTime: Date | string;
  privateIp: string;
  ramdiskId: string | null;
  region: string;
  version: string;
}

/** AWS's key order for the 2017-09-30 document version (as served since at least 2021). */
const DOCUMENT_KEYS: readonly (keyof IidDocumentFields)[] = [
  "accountId",
  "architecture",
  "availabilityZone",
  "billingProducts",
  "devpayProductCodes",
  "marketplaceProductCodes",
  "imageId",
  "instanceId",
  "instanceType",
  "kernelId",
  "pendingTime",
  "privateIp",
  "ramdiskId",
  "region",
  "version",
];

function awsJsonValue(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString().replace(/\.\d{3}Z$/, "Z"));
  if (Array.isArray(value))
    return value.length === 0 ? "[ ]" : `[ ${value.map((v) => JSON.stringify(v)).join(", ")} ]`;
  return JSON.stringify(value);
}

/**
 * An IID document text in AWS's pretty-printed layout (`{\n  "accountId" : "…",\n …\n}`, two-space
 * indent, ` : ` separators, no trailing newline). Unset fields get plausible defaults; the
 * pending time defaults to now (whole seconds).
 */
export function buildIidDocument(fields: Partial<IidDocumentFields> = {}): string {
  const region = fields.region ?? "us-east-1";
  const full: IidDocumentFields = {
    accountId: "123456789012",
    architecture: "x86_64",
    availabilityZone: `${region}a`,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: "ami-0123456789abcdef0",
    instanceId: "i-0123456789abcdef0",
    instanceType: "t3.micro",
    kernelId: null,
    pendingTime: new Date(Math.floor(Date.now() / 1000) * 1000),
    privateIp: "10.0.0.10",
    ramdiskId: null,
    region,
    version: "2017-09-30",
    ...fields,
  };
  const lines = DOCUMENT_KEYS.map((key) => `  ${JSON.stringify(key)} : ${awsJsonValue(full[key])}`);
  return `{\n${lines.join(",\n")}\n}`;
}
