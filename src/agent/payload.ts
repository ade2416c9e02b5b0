/**
 * The attestation payload, byte-compatible with SPIRE's built-in agent.
 *
 * SPIRE's agent reads each IMDS body into a Go string (raw bytes, no decoding) and sends
 * `json.Marshal(IIDAttestationData{Document, Signature, SignatureRSA2048})` with the JSON
 * names `document`, `signature`, `rsa2048` in that order (`pkg/common/plugin/aws/iid.go`).
 * We encode straight from the bytes with Go's string rules rather than going through a JS
 * string and JSON.stringify, which differ from Go in four ways that change bytes:
 * - Go escapes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (HTML-safe by default);
 * - Go escapes U+2028 and U+2029;
 * - Go replaces each byte that is not part of valid UTF-8 with the six characters `\ufffd`,
 *   one per byte (utf8.DecodeRune), where a WHATWG decoder folds a bad sequence into one;
 * - Go (since 1.22, which every supported SPIRE release is built with) writes `\b` and `\f`
 *   short forms; other control characters are `\u00XX` in lower-case hex.
 * Real documents are plain pretty-printed ASCII JSON, so in practice this is a faithful copy;
 * the rules matter because a server compares the decoded document with the signed bytes.
 */

export interface AttestationPayloadParts {
  document: Uint8Array;
  signature: Uint8Array;
  rsa2048: Uint8Array;
}

const HEX = "0123456789abcdef";
const enc = new TextEncoder();

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

/** Go's json.Marshal of one string value, as bytes. Exported for tests and the fuzz target. */
export function goJsonString(value: Uint8Array | string): Uint8Array {
  const out = new ByteSink();
  appendGoJsonString(out, typeof value === "string" ? enc.encode(value) : value);
  return out.result();
}

/** `{"document":…,"signature":…,"rsa2048":…}` exactly as SPIRE's agent sends it. */
export function encodeAttestationPayload(parts: AttestationPayloadParts): Uint8Array {
  const out = new ByteSink();
  out.ascii('{"document":');
  appendGoJsonString(out, parts.document);
  out.ascii(',"signature":');
  appendGoJsonString(out, parts.signature);
  out.ascii(',"rsa2048":');
  appendGoJsonString(out, parts.rsa2048);
  out.byte(0x7d);
  return out.result();
}
