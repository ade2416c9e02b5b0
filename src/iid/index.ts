/** Public surface of instance identity verification (server) and payload encoding (agent). */
export { decodeBase64Strict, encodeBase64Lines } from "./base64";
export {
  CERTIFICATE_KINDS,
  type CertificateIdentity,
  type CertificateKind,
  type CertificateSource,
  type TrustedCertificate,
} from "./certificate";
export {
  type AwsCertificateConfig,
  CertificateStore,
  isRegionName,
  loadOperatorCertificates,
  MAX_OPERATOR_CERTIFICATES,
  parseOperatorCertificate,
  partitionForRegion,
} from "./certificate-store";
export { type InstanceIdentityDocument, parseInstanceIdentityDocument } from "./document";
export {
  type AttestationPayload,
  decodeAttestationPayload,
  encodeAttestationPayload,
  MAX_PAYLOAD_BYTES,
} from "./payload";
export {
  checkDocumentPolicy,
  checkSignatureKindAllowed,
  formatDuration,
  LAUNCH_TIME_CLOCK_SKEW_MS,
  type SignatureKind,
  type VerificationPolicy,
} from "./policy";
export {
  type AttestationPayloadInput,
  CERTIFICATE_KIND_FOR,
  selectSignatureKind,
  type VerifiedIdentity,
  type VerifyOptions,
  verifyInstanceIdentity,
  verifyInstanceIdentitySync,
} from "./verify";
