/**
 * Instance identity verification: payload → signature → document binding → policy.
 *
 * Follows SPIRE's server flow (pkg/server/plugin/nodeattestor/awsiid/iid.go: decode, verify the
 * signature against the region's certificate, parse the document, policy) with three deliberate
 * differences:
 * 1. Binding. The PKCS#7 content must equal the `document` bytes, and the identity is parsed
 *    from the verified bytes only. SPIRE before 1.14.6 (2026-04-27) verified the PKCS#7 but
 *    trusted the separate `document` field, so any EC2 instance could impersonate any other.
 * 2. Codes. A signature, binding or policy failure is PermissionDenied, where SPIRE answers
 *    InvalidArgument: a forged or foreign document is a final answer and PermissionDenied is
 *    what makes SPIRE's agent stop instead of retrying. Undecodable input stays InvalidArgument.
 * 3. An unknown region (no certificate) is PermissionDenied with how to fix it
 *    (`aws_certificate`), where SPIRE answers Internal "unsupported region".
 *
 * Which signature: `rsa2048` if present, else `signature` (SPIRE's order, PR #4124), else
 * `pkcs7` (ours). There is no fallback once a kind is chosen: a broken `rsa2048` is not retried
 * as the legacy signature, or omitting/breaking it would be a downgrade.
 */
import { invalidArgument, type PluginError, permissionDenied } from "../common/errors";
import { decodeBase64Strict } from "./base64";
import { Asn1Error } from "./ber";
import {
  type CertificateIdentity,
  type CertificateKind,
  certificateIdentity,
  type TrustedCertificate,
} from "./certificate";
import type { CertificateStore } from "./certificate-store";
import { CmsVerificationError, parseSignedData, verifySignature, verifySignedData } from "./cms";
import { type InstanceIdentityDocument, parseInstanceIdentityDocument } from "./document";
import { type AttestationPayload, decodeAttestationPayload } from "./payload";
import {
  checkDocumentPolicy,
  checkSignatureKindAllowed,
  type SignatureKind,
  type VerificationPolicy,
} from "./policy";

/** A decoded payload; absent signature fields count as empty. */
export interface AttestationPayloadInput {
  readonly document: string;
  readonly signature?: string;
  readonly rsa2048?: string;
  readonly pkcs7?: string;
}

export interface VerifyOptions {
  readonly store: CertificateStore;
  readonly policy?: VerificationPolicy;
  /** The clock for `max_launch_age`; defaults to the system clock. */
  readonly now?: Date | (() => Date);
  /**
   * Force a signature kind instead of SPIRE's selection order (the `verify` CLI's `--kind`).
   * The policy still applies.
   */
  readonly kind?: SignatureKind;
}

export interface VerifiedIdentity {
  /** Parsed from the verified bytes. */
  readonly document: InstanceIdentityDocument;
  /** The verified document bytes (equal to the payload's `document`). */
  readonly documentBytes: Uint8Array;
  readonly kind: SignatureKind;
  readonly certificate: CertificateIdentity;
}

export const CERTIFICATE_KIND_FOR: Readonly<Record<SignatureKind, CertificateKind>> = {
  rsa2048: "rsa2048",
  rsa: "rsa",
  pkcs7: "dsa",
};

/** SPIRE's selection order, plus `pkcs7` last. */
export function selectSignatureKind(payload: AttestationPayload): SignatureKind {
  if (payload.rsa2048 !== "") return "rsa2048";
  if (payload.signature !== "") return "rsa";
  if (payload.pkcs7 !== "") return "pkcs7";
  throw invalidArgument("instance identity cryptographic signature is required");
}

function signatureText(payload: AttestationPayload, kind: SignatureKind): string {
  const text = kind === "rsa2048" ? payload.rsa2048 : kind === "rsa" ? payload.signature : payload.pkcs7;
  if (text === "") throw invalidArgument(`the payload has no ${kind === "rsa" ? "signature" : kind} field`);
  return text;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseDocument(bytes: Uint8Array): InstanceIdentityDocument {
  try {
    return parseInstanceIdentityDocument(bytes);
  } catch (err) {
    throw invalidArgument(`failed to unmarshal the IID: ${message(err)}`, err);
  }
}

function noCertificate(region: string, kind: CertificateKind): PluginError {
  return permissionDenied(
    `no AWS ${kind} certificate is known for region "${region}"; if AWS opened this region after this release, ` +
      `add its certificate from the AWS documentation with aws_certificate { region = "${region}", kind = "${kind}", pem_path = "..." }`,
  );
}

function verifyPkcs7(
  text: string,
  candidates: readonly TrustedCertificate[],
  kind: "rsa2048" | "dsa",
): { content: Uint8Array; certificate: TrustedCertificate } {
  let der: Buffer;
  try {
    der = decodeBase64Strict(text);
  } catch (err) {
    throw invalidArgument(
      `failed to decode the instance identity cryptographic signature: ${message(err)}`,
      err,
    );
  }
  let parsed: ReturnType<typeof parseSignedData>;
  try {
    parsed = parseSignedData(der);
  } catch (err) {
    throw invalidArgument(
      `failed to parse the instance identity cryptographic signature: ${message(err)}`,
      err,
    );
  }
  try {
    return verifySignedData(parsed, candidates, kind);
  } catch (err) {
    if (err instanceof CmsVerificationError || err instanceof Asn1Error) {
      throw permissionDenied(
        `failed verification of instance identity cryptographic signature: ${err.message}`,
        err,
      );
    }
    throw err;
  }
}

function verifyLegacyRsa(
  text: string,
  documentBytes: Uint8Array,
  candidates: readonly TrustedCertificate[],
): TrustedCertificate {
  let signature: Buffer;
  try {
    signature = decodeBase64Strict(text);
  } catch (err) {
    throw invalidArgument(`failed to decode the IID signature: ${message(err)}`, err);
  }
  for (const cert of candidates) {
    // PKCS#1 v1.5 over SHA-256 of the exact document bytes, never a re-serialisation.
    if (cert.keyType === "rsa" && verifySignature("sha256", documentBytes, cert, signature)) return cert;
  }
  throw permissionDenied(
    "failed to verify the cryptographic signature: the signature does not match the document",
  );
}

/**
 * Verifies an attestation payload (bytes as received, or already decoded). Resolves to the
 * verified identity or rejects with a `PluginError` (InvalidArgument for malformed input,
 * PermissionDenied for every rejection).
 */
export async function verifyInstanceIdentity(
  input: Uint8Array | AttestationPayloadInput,
  options: VerifyOptions,
): Promise<VerifiedIdentity> {
  return verifyInstanceIdentitySync(input, options);
}

/** Synchronous form of `verifyInstanceIdentity` (benchmarks, the CLI). */
export function verifyInstanceIdentitySync(
  input: Uint8Array | AttestationPayloadInput,
  options: VerifyOptions,
): VerifiedIdentity {
  const policy = options.policy ?? {};
  const payload: AttestationPayload =
    input instanceof Uint8Array
      ? decodeAttestationPayload(input)
      : { signature: "", rsa2048: "", pkcs7: "", ...input };
  const kind = options.kind ?? selectSignatureKind(payload);
  checkSignatureKindAllowed(kind, policy);
  const text = signatureText(payload, kind);
  const documentBytes = Buffer.from(payload.document, "utf8");
  // Trusted only once the signature over these exact bytes has been verified below.
  const claimed = parseDocument(documentBytes);
  const certKind = CERTIFICATE_KIND_FOR[kind];
  const candidates = options.store.candidates(claimed.region, certKind);
  if (candidates.length === 0) throw noCertificate(claimed.region, certKind);

  let verifiedBytes: Uint8Array;
  let certificate: TrustedCertificate;
  if (kind === "rsa") {
    certificate = verifyLegacyRsa(text, documentBytes, candidates);
    verifiedBytes = documentBytes;
  } else {
    const verified = verifyPkcs7(text, candidates, kind === "rsa2048" ? "rsa2048" : "dsa");
    if (Buffer.compare(verified.content, documentBytes) !== 0) {
      throw permissionDenied("instance identity document does not match the verified PKCS7 content");
    }
    certificate = verified.certificate;
    verifiedBytes = verified.content;
  }
  // The verified bytes are the document bytes (the same buffer for the legacy signature, equal
  // byte for byte for PKCS#7, checked above), so the document parsed from them to pick the
  // certificate is the verified document: parsing it again could not differ (issue 18).
  const document = claimed;
  // Checked because the certificate was chosen by the region read before verification, and a
  // region/certificate mismatch must never slip through a refactor.
  if (document.region !== certificate.region) {
    throw permissionDenied("the verified document's region does not match the certificate's region");
  }
  const now = typeof options.now === "function" ? options.now() : (options.now ?? new Date());
  checkDocumentPolicy(document, policy, now);
  return { document, documentBytes: verifiedBytes, kind, certificate: certificateIdentity(certificate) };
}
