/**
 * The attestation payload the agent sends once (no challenge round trip). SPIRE's agent sends
 * `json.Marshal(IIDAttestationData{Document, Signature, SignatureRSA2048})` from
 * `pkg/common/plugin/aws/iid.go`: fields `document`, `signature`, `rsa2048`, in that order,
 * all present, no omitempty. We also accept `pkcs7` (IMDS `/pkcs7`, the DSA form Vault uses).
 */
import { invalidArgument, type PluginError } from "../common/errors";

export interface AttestationPayload {
  /** The IID JSON text exactly as IMDS served it (the server compares it byte for byte). */
  readonly document: string;
  /** `/signature`: base64 RSA PKCS#1 v1.5 SHA-256 signature over the document bytes. */
  readonly signature: string;
  /** `/rsa2048`: base64 PKCS#7 SignedData (RSA-2048, SHA-256), 76-column lines. */
  readonly rsa2048: string;
  /** `/pkcs7`: base64 PKCS#7 SignedData (DSA, SHA-1). Our extension; SPIRE never sends it. */
  readonly pkcs7: string;
}

/**
 * Cap on the whole payload. Real payloads are about 3 KiB (document ~0.5 KiB, rsa2048 ~1.5 KiB
 * base64); 64 KiB bounds the JSON parse and everything after it on hostile input.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const FIELDS = ["document", "signature", "rsa2048", "pkcs7"] as const;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function unmarshalError(detail: string): PluginError {
  return invalidArgument(`failed to unmarshal the attestation data: ${detail}`);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Decodes payload bytes. Throws InvalidArgument (SPIRE's messages where SPIRE has one). Like
 * Go's `encoding/json`, unknown fields are ignored, `null` leaves a field empty and a repeated
 * key keeps its last value. Field names are matched exactly (Go would also match `Document`,
 * which no SPIRE agent sends).
 */
export function decodeAttestationPayload(bytes: Uint8Array): AttestationPayload {
  if (bytes.length === 0) throw invalidArgument("payload cannot be empty");
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw invalidArgument(
      `attestation payload too large: ${bytes.length} bytes (limit ${MAX_PAYLOAD_BYTES})`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw unmarshalError("invalid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw unmarshalError(err instanceof Error ? err.message : "invalid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw unmarshalError(`expected a JSON object, found ${typeName(parsed)}`);
  }
  const obj = parsed as Record<string, unknown>;
  const out: Record<(typeof FIELDS)[number], string> = {
    document: "",
    signature: "",
    rsa2048: "",
    pkcs7: "",
  };
  for (const field of FIELDS) {
    if (!Object.hasOwn(obj, field)) continue;
    const value = obj[field];
    if (value === null) continue;
    if (typeof value !== "string")
      throw unmarshalError(`field "${field}" must be a string, found ${typeName(value)}`);
    out[field] = value;
  }
  return out;
}

/**
 * Go `encoding/json` string escaping (HTML-safe by default, as `json.Marshal` does), so the
 * bytes match what SPIRE's Go agent would send for the same IMDS output.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "<":
      case ">":
      case "&":
      case "\u2028":
      case "\u2029":
        out += `\\u${c.toString(16).padStart(4, "0")}`;
        continue;
    }
    if (c < 0x20) out += `\\u${c.toString(16).padStart(4, "0")}`;
    // A lone surrogate is invalid UTF-8; Go writes U+FFFD for it.
    else if (c >= 0xd800 && c <= 0xdfff) out += "\ufffd";
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Encodes a payload as SPIRE's agent does: `{"document":…,"signature":…,"rsa2048":…}`, all three
 * always present. `pkcs7` is appended only when non-empty, so default output stays
 * byte-identical to SPIRE's.
 */
export function encodeAttestationPayload(payload: {
  document: string;
  signature: string;
  rsa2048: string;
  pkcs7?: string;
}): Uint8Array {
  let json = `{"document":${goJsonString(payload.document)},"signature":${goJsonString(payload.signature)},"rsa2048":${goJsonString(payload.rsa2048)}`;
  if (payload.pkcs7) json += `,"pkcs7":${goJsonString(payload.pkcs7)}`;
  return Buffer.from(`${json}}`, "utf8");
}
