/**
 * Object identifiers used by AWS instance identity signatures, as lowercase hex of the DER
 * content octets (what the BER reader sees), so comparisons need no OID text decoding.
 */
export const Oid = {
  /** 1.2.840.113549.1.7.1 */
  data: "2a864886f70d010701",
  /** 1.2.840.113549.1.7.2 */
  signedData: "2a864886f70d010702",
  /** 1.2.840.113549.1.9.3 */
  contentType: "2a864886f70d010903",
  /** 1.2.840.113549.1.9.4 */
  messageDigest: "2a864886f70d010904",
  /** 1.2.840.113549.1.9.5 */
  signingTime: "2a864886f70d010905",
  /** 1.2.840.113549.1.9.52 (RFC 6211) */
  cmsAlgorithmProtection: "2a864886f70d010934",
  /** 1.3.14.3.2.26 */
  sha1: "2b0e03021a",
  /** 2.16.840.1.101.3.4.2.1 */
  sha256: "608648016503040201",
  /** 1.2.840.113549.1.1.1 */
  rsaEncryption: "2a864886f70d010101",
  /** 1.2.840.113549.1.1.5 */
  sha1WithRsaEncryption: "2a864886f70d010105",
  /** 1.2.840.113549.1.1.11 */
  sha256WithRsaEncryption: "2a864886f70d01010b",
  /** 1.2.840.10040.4.3 */
  dsaWithSha1: "2a8648ce380403",
  /** 2.16.840.1.101.3.4.3.2 */
  dsaWithSha256: "608648016503040302",
} as const;

/** Dotted text for an OID given as hex content octets (error messages only). */
export function oidToDotted(hex: string): string {
  const bytes = Buffer.from(hex, "hex");
  if (bytes.length === 0) return "(empty)";
  const first = bytes[0]!;
  const arcs: number[] = [
    Math.min(Math.floor(first / 40), 2),
    first - Math.min(Math.floor(first / 40), 2) * 40,
  ];
  let value = 0;
  for (const b of bytes.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}
