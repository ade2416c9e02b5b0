/**
 * Token values as hashicorp/hcl's token.Value() computes them, and the strconv parsing its
 * decoder applies. Where Go panics (a string the scanner accepted but Unquote rejects, e.g.
 * "\U00110000"), we raise a positioned HclError instead.
 */
import { type Token, TokenType } from "./ast";
import { HclError } from "./errors";
import { decodeGoString, decodeRune, RUNE_ERROR } from "./utf8";

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function goQuote(s: string): string {
  // strconv.Quote for the ASCII-printable cases that reach error messages.
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** strconv.ParseInt(s, 0, 64), returning bigint, or Go's error text. */
export function parseGoInt(s: string): bigint | string {
  const fail = (why: string): string => `strconv.ParseInt: parsing ${goQuote(s)}: ${why}`;
  if (s.length === 0) return fail("invalid syntax");
  let i = 0;
  let neg = false;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    i = 1;
  }
  let base = 10;
  let body = s.slice(i);
  let prefixed = false;
  if (body[0] === "0" && body.length > 1) {
    const p = body[1]!.toLowerCase();
    if (p === "x") {
      base = 16;
      body = body.slice(2);
      prefixed = true;
    } else if (p === "o") {
      base = 8;
      body = body.slice(2);
      prefixed = true;
    } else if (p === "b") {
      base = 2;
      body = body.slice(2);
      prefixed = true;
    } else {
      base = 8;
      body = body.slice(1);
      prefixed = true;
    }
  }
  // Base-0 parsing allows "_" only between digits (or after a base prefix).
  if (body.includes("_")) {
    if (!underscoreOk(s.slice(i))) return fail("invalid syntax");
    body = body.replaceAll("_", "");
  }
  if (body.length === 0 && !(prefixed && base === 8)) return fail("invalid syntax");
  let v = 0n;
  const b = BigInt(base);
  for (const ch of body) {
    const d = digitOf(ch);
    if (d >= base) return fail("invalid syntax");
    v = v * b + BigInt(d);
    if (v > INT64_MAX + 1n) return fail("value out of range");
  }
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return fail("value out of range");
  return v;
}

function digitOf(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 97 + 10;
  if (c >= 65 && c <= 90) return c - 65 + 10;
  return 99;
}

/** strconv's underscoreOK for base-prefixed literals. */
function underscoreOk(s: string): boolean {
  let saw = "^";
  let i = 0;
  let hex = false;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  if (s.length >= 2 && s[0] === "0") {
    const p = s[1]!.toLowerCase();
    if (p === "b" || p === "o" || p === "x") {
      hex = p === "x";
      i = 2;
      saw = "0";
    }
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    const isDig = (c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c));
    if (isDig) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** strconv.ParseFloat(s, 64) for the decimal forms HCL's scanner can produce. */
export function parseGoFloat(s: string): number | string {
  if (!FLOAT_RE.test(s)) return `strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`;
  const v = Number(s);
  if (!Number.isFinite(v)) return `strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`;
  return v;
}

/** The text of a token as Go's string(Text). */
export function tokenText(tok: Token): string {
  return decodeGoString(tok.raw);
}

const stringCache = new WeakMap<Token, string>();

/** token.Value() for STRING and HEREDOC tokens (and keys). */
export function stringValue(tok: Token): string {
  const cached = stringCache.get(tok);
  if (cached !== undefined) return cached;
  const v = computeStringValue(tok);
  stringCache.set(tok, v);
  return v;
}

function computeStringValue(tok: Token): string {
  if (tok.type === TokenType.HEREDOC) return unindentHeredoc(tok.raw);
  if (tok.raw.length === 0) return "";
  const r = tok.json ? unquoteGo(tok.raw) : unquoteHcl(tok.raw);
  if (r === undefined) {
    throw new HclError(
      tok.pos,
      `invalid string literal ${tokenText(tok)}`,
      `panic: unquote ${tokenText(tok)} err: invalid syntax`,
    );
  }
  return r;
}

enum Ch {
  nl = 0x0a,
  quote = 0x22,
  dollar = 0x24,
  squote = 0x27,
  lbrace = 0x7b,
  rbrace = 0x7d,
  backslash = 0x5c,
}

/** utf8.EncodeRune: surrogates and out-of-range runes encode as U+FFFD. */
function appendRune(out: number[], rune: number): void {
  const r = (rune >= 0xd800 && rune <= 0xdfff) || rune > 0x10ffff ? RUNE_ERROR : rune;
  if (r < 0x80) out.push(r);
  else if (r < 0x800) out.push(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
  else if (r < 0x10000) out.push(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  else out.push(0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
}

/** Go appends byte(c) for ASCII and for \x / octal escapes, and the UTF-8 encoding otherwise. */
function appendChar(out: number[], c: { value: number; multibyte: boolean }): void {
  if (c.value < 0x80 || !c.multibyte) out.push(c.value & 0xff);
  else appendRune(out, c.value);
}

/** hcl/strconv.Unquote: Go's Unquote plus ${...} passed through untouched. */
export function unquoteHcl(raw: Uint8Array): string | undefined {
  const n = raw.length;
  if (n < 2 || raw[0] !== Ch.quote || raw[n - 1] !== Ch.quote) return undefined;
  const s = raw.subarray(1, n - 1);
  const has = (c: number): boolean => s.indexOf(c) >= 0;
  if (!has(Ch.dollar) && !has(Ch.lbrace) && has(Ch.nl)) return undefined;
  if (!has(Ch.backslash) && !has(Ch.quote) && !has(Ch.dollar)) return decodeGoString(s);
  const out: number[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === Ch.dollar && i + 1 < s.length && s[i + 1] === Ch.lbrace) {
      out.push(0x24, 0x7b);
      i += 2;
      let braces = 1;
      while (i < s.length && braces > 0) {
        const d = decodeRune(s, i);
        const r = Math.floor(d / 8);
        if (r === RUNE_ERROR) return undefined;
        i += d & 7;
        appendRune(out, r);
        if (r === Ch.lbrace) braces++;
        else if (r === Ch.rbrace) braces--;
      }
      if (braces !== 0) return undefined;
      continue;
    }
    if (s[i] === Ch.nl) return undefined;
    const c = unquoteChar(s, i, Ch.quote, false);
    if (c === undefined) return undefined;
    appendChar(out, c);
    i = c.next;
  }
  return decodeGoString(Uint8Array.from(out));
}

/** Go's strconv.Unquote for a double-quoted string (JSON tokens). */
export function unquoteGo(raw: Uint8Array): string | undefined {
  const n = raw.length;
  if (n < 2 || raw[0] !== Ch.quote || raw[n - 1] !== Ch.quote) return undefined;
  const s = raw.subarray(1, n - 1);
  if (s.indexOf(Ch.nl) >= 0) return undefined;
  if (s.indexOf(Ch.backslash) < 0 && s.indexOf(Ch.quote) < 0) return decodeGoString(s);
  const out: number[] = [];
  let i = 0;
  while (i < s.length) {
    const c = unquoteChar(s, i, Ch.quote, true);
    if (c === undefined) return undefined;
    appendChar(out, c);
    i = c.next;
  }
  return decodeGoString(Uint8Array.from(out));
}

/** UnquoteChar; `strict` is Go's strconv (rejects surrogate \u escapes), else HCL's copy. */
function unquoteChar(
  s: Uint8Array,
  i: number,
  quote: number,
  strict: boolean,
): { value: number; next: number; multibyte: boolean } | undefined {
  const c = s[i]!;
  if (c === quote) return undefined;
  if (c >= 0x80) {
    const d = decodeRune(s, i);
    return { value: Math.floor(d / 8), next: i + (d & 7), multibyte: true };
  }
  if (c !== Ch.backslash) return { value: c, next: i + 1, multibyte: false };
  if (i + 1 >= s.length) return undefined;
  const e = s[i + 1]!;
  let j = i + 2;
  switch (e) {
    case 0x61:
      return { value: 7, next: j, multibyte: false };
    case 0x62:
      return { value: 8, next: j, multibyte: false };
    case 0x66:
      return { value: 12, next: j, multibyte: false };
    case 0x6e:
      return { value: 10, next: j, multibyte: false };
    case 0x72:
      return { value: 13, next: j, multibyte: false };
    case 0x74:
      return { value: 9, next: j, multibyte: false };
    case 0x76:
      return { value: 11, next: j, multibyte: false };
    case 0x78:
    case 0x75:
    case 0x55: {
      const len = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      if (s.length - j < len) return undefined;
      let v = 0;
      for (let k = 0; k < len; k++) {
        const h = hexVal(s[j + k]!);
        if (h < 0) return undefined;
        v = v * 16 + h;
      }
      j += len;
      if (e === 0x78) return { value: v, next: j, multibyte: false };
      if (v > 0x10ffff) return undefined;
      if (strict && v >= 0xd800 && v <= 0xdfff) return undefined;
      return { value: v, next: j, multibyte: true };
    }
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x36:
    case 0x37: {
      let v = e - 0x30;
      if (s.length - j < 2) return undefined;
      for (let k = 0; k < 2; k++) {
        const x = s[j + k]! - 0x30;
        if (x < 0 || x > 7) return undefined;
        v = (v << 3) | x;
      }
      if (v > 255) return undefined;
      return { value: v, next: j + 2, multibyte: false };
    }
    case Ch.backslash:
      return { value: Ch.backslash, next: j, multibyte: false };
    case Ch.squote:
    case Ch.quote:
      if (e !== quote) return undefined;
      return { value: e, next: j, multibyte: false };
  }
  return undefined;
}

function hexVal(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/**
 * token.unindentHeredoc. Go slices by byte counts derived from the anchor line, which is why
 * an indented `<<EOF` terminator leaves its indentation in the value. Kept byte for byte.
 */
export function unindentHeredoc(raw: Uint8Array): string {
  const idx = raw.indexOf(0x0a);
  if (idx < 0) return "";
  const len = raw.length;
  const unindent = raw[2] === 0x2d;
  if (!unindent) return decodeGoString(raw, idx + 1, Math.max(idx + 1, len - idx + 1));
  const body = decodeGoStringBytes(raw, idx + 1, len - idx + 2);
  const lines = body.split("\n");
  const prefix = lines[lines.length - 1]!;
  if (!lines.every((l) => l.startsWith(prefix))) {
    return decodeGoString(raw, idx + 1, len - idx + 1).replace(/[ \t]+$/, "");
  }
  const out = lines.map((l, k) => (k === lines.length - 1 ? "" : l.slice(prefix.length)));
  return out.join("\n");
}

function decodeGoStringBytes(raw: Uint8Array, start: number, end: number): string {
  return decodeGoString(raw, start, Math.max(start, end));
}

export { INT64_MAX, INT64_MIN };
