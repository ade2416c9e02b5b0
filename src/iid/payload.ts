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

/*
 * Encoding, byte-compatible with SPIRE's built-in agent. This is the one Go-compatible JSON
 * encoder of the project: the agent encodes the raw IMDS bodies with it, and the testkit,
 * benches and specs encode JS strings with it.
 *
 * SPIRE's agent reads each IMDS body into a Go string (raw bytes, no decoding) and sends
 * `json.Marshal(IIDAttestationData{Document, Signature, SignatureRSA2048})`. We encode
 * straight from the bytes with Go's string rules rather than going through JSON.stringify,
 * which differs from Go in four ways that change bytes:
 * - Go escapes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (HTML-safe by default);
 * - Go escapes U+2028 and U+2029;
 * - Go replaces each byte that is not part of valid UTF-8 with the six characters `\ufffd`,
 *   one per byte (utf8.DecodeRune), where a WHATWG decoder folds a bad sequence into one;
 * - Go (since 1.22, which every supported SPIRE release is built with) writes `\b` and `\f`
 *   short forms; other control characters are `\u00XX` in lower-case hex.
 * Real documents are plain pretty-printed ASCII JSON, so in practice this is a faithful copy;
 * the rules matter because a server compares the decoded document with the signed bytes.
 * A JS string is taken as its UTF-8 encoding; a lone surrogate therefore becomes U+FFFD, which
 * is what Go holds for it too.
 */

/** The parts of a payload: raw IMDS bodies (bytes) or JS strings. */
export interface AttestationPayloadParts {
  document: Uint8Array | string;
  signature: Uint8Array | string;
  rsa2048: Uint8Array | string;
  /** Our extension (IMDS `/pkcs7`); written only when non-empty. */
  pkcs7?: Uint8Array | string;
}

const HEX = "0123456789abcdef";
const utf8Encoder = new TextEncoder();

function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? utf8Encoder.encode(value) : value;
}

/** Growable byte buffer: payloads are a few KiB, so doubling keeps copies negligible. */
class ByteSink {
  private buf = new Uint8Array(1024);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(src: Uint8Array): void {
    this.reserve(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }

  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i += 1) this.buf[this.len++] = s.charCodeAt(i);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * Length of the valid UTF-8 sequence starting at `i`, or 0 if the byte there does not start
 * one. Mirrors Go's utf8.DecodeRune acceptance (no overlongs, no surrogates, <= U+10FFFF).
 */
function utf8SequenceLength(s: Uint8Array, i: number): number {
  const b0 = s[i] ?? 0;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = s[j];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Appends `s` as a JSON string literal exactly as Go's encoding/json (HTML escaping on) writes it. */
function appendGoJsonString(out: ByteSink, s: Uint8Array): void {
  out.byte(0x22);
  let i = 0;
  while (i < s.length) {
    const b = s[i] ?? 0;
    if (b < 0x80) {
      if (b >= 0x20 && b !== 0x22 && b !== 0x5c && b !== 0x3c && b !== 0x3e && b !== 0x26) {
        out.byte(b);
      } else if (b === 0x22 || b === 0x5c) {
        out.byte(0x5c);
        out.byte(b);
      } else if (b === 0x08) {
        out.ascii("\\b");
      } else if (b === 0x0c) {
        out.ascii("\\f");
      } else if (b === 0x0a) {
        out.ascii("\\n");
      } else if (b === 0x0d) {
        out.ascii("\\r");
      } else if (b === 0x09) {
        out.ascii("\\t");
      } else {
        out.ascii(`\\u00${HEX[b >> 4]}${HEX[b & 0xf]}`);
      }
      i += 1;
      continue;
    }
    const n = utf8SequenceLength(s, i);
    if (n === 0) {
      out.ascii("\\ufffd");
      i += 1;
      continue;
    }
    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
    if (n === 3 && b === 0xe2 && s[i + 1] === 0x80 && (s[i + 2] === 0xa8 || s[i + 2] === 0xa9)) {
      out.ascii(s[i + 2] === 0xa8 ? "\\u2028" : "\\u2029");
    } else {
      out.bytes(s.subarray(i, i + n));
    }
    i += n;
  }
  out.byte(0x22);
}

/**
 * Go's json.Marshal of one string value. The result is always valid UTF-8 (invalid input bytes
 * become the ASCII escape `\ufffd`), so returning it as a JS string loses nothing.
 */
export function goJsonString(value: Uint8Array | string): string {
  const out = new ByteSink();
  appendGoJsonString(out, toBytes(value));
  return Buffer.from(out.result()).toString("utf8");
}

/**
 * Encodes a payload as SPIRE's agent does: `{"document":…,"signature":…,"rsa2048":…}`, all three
 * always present, in struct order. `pkcs7` is appended only when non-empty, so default output
 * stays byte-identical to SPIRE's.
 */
export function encodeAttestationPayload(parts: AttestationPayloadParts): Uint8Array {
  const out = new ByteSink();
  out.ascii('{"document":');
  appendGoJsonString(out, toBytes(parts.document));
  out.ascii(',"signature":');
  appendGoJsonString(out, toBytes(parts.signature));
  out.ascii(',"rsa2048":');
  appendGoJsonString(out, toBytes(parts.rsa2048));
  const pkcs7 = parts.pkcs7 === undefined ? undefined : toBytes(parts.pkcs7);
  if (pkcs7 !== undefined && pkcs7.length > 0) {
    out.ascii(',"pkcs7":');
    appendGoJsonString(out, pkcs7);
  }
  out.byte(0x7d);
  return out.result();
}
