/**
 * UTF-8 handling with Go's rules (unicode/utf8.DecodeRune): an invalid or truncated
 * sequence decodes as U+FFFD with width 1. HCL v1 scans bytes, counts columns in runes and
 * offsets in bytes, so we do the same instead of working on JavaScript strings.
 */

export const RUNE_ERROR = 0xfffd;

/** Decodes the rune at `i`: returns rune * 8 + width, to avoid allocating a pair. */
export function decodeRune(src: Uint8Array, i: number): number {
  const b0 = src[i]!;
  if (b0 < 0x80) return b0 * 8 + 1;
  const n = src.length;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const b1 = i + 1 < n ? src[i + 1]! : 0;
    if ((b1 & 0xc0) !== 0x80) return RUNE_ERROR * 8 + 1;
    return (((b0 & 0x1f) << 6) | (b1 & 0x3f)) * 8 + 2;
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const b1 = i + 1 < n ? src[i + 1]! : 0;
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    if (b1 < lo || b1 > hi) return RUNE_ERROR * 8 + 1;
    const b2 = i + 2 < n ? src[i + 2]! : 0;
    if ((b2 & 0xc0) !== 0x80) return RUNE_ERROR * 8 + 1;
    return (((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)) * 8 + 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const b1 = i + 1 < n ? src[i + 1]! : 0;
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    if (b1 < lo || b1 > hi) return RUNE_ERROR * 8 + 1;
    const b2 = i + 2 < n ? src[i + 2]! : 0;
    const b3 = i + 3 < n ? src[i + 3]! : 0;
    if ((b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) return RUNE_ERROR * 8 + 1;
    return (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) * 8 + 4;
  }
  return RUNE_ERROR * 8 + 1;
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Go's string(bytes) as seen through range/encoding: one U+FFFD per invalid byte. */
export function decodeGoString(src: Uint8Array, start = 0, end = src.length): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (src[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    let s = "";
    if (end - start <= 64) {
      for (let i = start; i < end; i++) s += String.fromCharCode(src[i]!);
      return s;
    }
    for (let i = start; i < end; i += 4096) {
      s += String.fromCharCode(...src.subarray(i, Math.min(end, i + 4096)));
    }
    return s;
  }
  try {
    return fatalDecoder.decode(src.subarray(start, end));
  } catch {
    const out: number[] = [];
    let i = start;
    while (i < end) {
      const d = decodeRune(src.subarray(0, end), i);
      out.push(Math.floor(d / 8));
      i += d & 7;
    }
    let s = "";
    for (let j = 0; j < out.length; j += 4096) s += String.fromCodePoint(...out.slice(j, j + 4096));
    return s;
  }
}

const encoder = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** unicode.IsLetter for runes >= 0x80. */
export function isUnicodeLetter(ch: number): boolean {
  return /\p{L}/u.test(String.fromCodePoint(ch));
}

/** unicode.IsDigit (category Nd) for runes >= 0x80. */
export function isUnicodeDigit(ch: number): boolean {
  return /\p{Nd}/u.test(String.fromCodePoint(ch));
}

/** unicode.IsSpace. */
export function isUnicodeSpace(ch: number): boolean {
  if (ch < 0x100) {
    return ch === 0x20 || (ch >= 0x09 && ch <= 0x0d) || ch === 0x85 || ch === 0xa0;
  }
  return /\p{White_Space}/u.test(String.fromCodePoint(ch));
}
