/**
 * HCL v1's scanner (hashicorp/hcl `hcl/scanner`), reproduced step for step.
 *
 * Exactness matters more than elegance here: SPIRE operators see Go's error positions, and
 * some of v1's oddities change what a config means (".5e3" scans as ".5e" then "3"; a
 * `<<-EOF` terminator needs at least one byte of indentation; "08" is only rejected at
 * decode time). So the reader below models Go's bytes.Buffer (ReadRune/UnreadRune, with the
 * same "can only unread right after a read" rule) and the scanner's position bookkeeping
 * (srcPos, prevPos, lastCharLen, lastLineLen), and every scan function follows Go's order of
 * reads and unreads.
 */
import { type Pos, type Token, TokenType } from "./ast";
import { GoPanic } from "./errors";
import { decodeRune, isUnicodeDigit, isUnicodeLetter, RUNE_ERROR } from "./utf8";

export const EOF_RUNE = 0;

export type ScanErrorHandler = (pos: Pos, msg: string) => void;

/** bytes.Buffer plus Go scanner position state, shared by the HCL and JSON scanners. */
export class RuneReader {
  protected readonly src: Uint8Array;
  private off = 0;
  /** width of the last successful ReadRune, 0 when UnreadRune would fail (Go's opInvalid). */
  private lastRead = 0;

  protected line = 1;
  protected column = 0;
  protected offset = 0;
  protected prevLine = 0;
  protected prevColumn = 0;
  protected prevOffset = 0;
  protected lastCharLen = 0;
  protected lastLineLen = 0;

  protected tokStart = 0;
  protected tokPos: Pos = { line: 0, column: 0, offset: 0 };

  errorCount = 0;

  constructor(
    src: Uint8Array,
    private readonly onError: ScanErrorHandler,
  ) {
    this.src = src;
  }

  /** bytes.Buffer.ReadRune: rune*8+width, or -1 at end of input. */
  protected readRune(): number {
    if (this.off >= this.src.length) {
      this.lastRead = 0;
      return -1;
    }
    const b = this.src[this.off]!;
    if (b < 0x80) {
      // ASCII fast path: configs are almost entirely ASCII.
      this.off++;
      this.lastRead = 1;
      return b * 8 + 1;
    }
    const d = decodeRune(this.src, this.off);
    const w = d & 7;
    this.off += w;
    this.lastRead = w;
    return d;
  }

  protected unreadRune(): void {
    if (this.lastRead <= 0) {
      // Go: bytes.Buffer.UnreadRune returns an error and the scanner panics.
      throw new GoPanic("bytes.Buffer: UnreadRune: previous operation was not a successful ReadRune");
    }
    this.off -= this.lastRead;
    this.lastRead = 0;
  }

  protected peek(): number {
    const d = this.readRune();
    if (d < 0) return EOF_RUNE;
    this.unreadRune();
    return Math.floor(d / 8);
  }

  /** Scanner.unread: put back the rune and restore the previous position. */
  protected unread(): void {
    this.unreadRune();
    this.line = this.prevLine;
    this.column = this.prevColumn;
    this.offset = this.prevOffset;
  }

  protected savePrev(): void {
    this.prevLine = this.line;
    this.prevColumn = this.column;
    this.prevOffset = this.offset;
  }

  /** Scanner.recentPosition: where Go reports scanner errors. */
  protected recentPosition(): Pos {
    const offset = this.offset - this.lastCharLen;
    if (this.column > 0) return { line: this.line, column: this.column, offset };
    if (this.lastLineLen > 0) return { line: this.line - 1, column: this.lastLineLen, offset };
    return { line: 1, column: 1, offset };
  }

  protected err(msg: string): void {
    this.errorCount++;
    this.onError(this.recentPosition(), msg);
  }

  /** Marks the token start after the first rune of the token was read. */
  protected startToken(): void {
    this.tokStart = this.offset - this.lastCharLen;
    const offset = this.offset - this.lastCharLen;
    if (this.column > 0) {
      this.tokPos = { line: this.line, column: this.column, offset };
    } else {
      this.tokPos = { line: this.line - 1, column: this.lastLineLen, offset };
    }
  }

  protected finishToken(type: TokenType, json: boolean): Token {
    const end = this.offset;
    // Go guards with tokStart >= 0; a start past the end (NUL at EOF) gives an empty text.
    const raw = this.tokStart >= 0 && this.tokStart <= end ? this.src.subarray(this.tokStart, end) : EMPTY;
    this.tokStart = end;
    return { type, pos: this.tokPos, raw, json };
  }
}

const EMPTY = new Uint8Array(0);

export function isLetter(ch: number): boolean {
  return (
    (ch >= 0x61 && ch <= 0x7a) ||
    (ch >= 0x41 && ch <= 0x5a) ||
    ch === 0x5f ||
    (ch >= 0x80 && isUnicodeLetter(ch))
  );
}

export function isDigit(ch: number): boolean {
  return (ch >= 0x30 && ch <= 0x39) || (ch >= 0x80 && isUnicodeDigit(ch));
}

export function isDecimal(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

export function isHexadecimal(ch: number): boolean {
  return (ch >= 0x30 && ch <= 0x39) || (ch >= 0x61 && ch <= 0x66) || (ch >= 0x41 && ch <= 0x46);
}

export function isWhitespace(ch: number): boolean {
  return ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d;
}

export function digitVal(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return 16;
}

const C = {
  nl: 0x0a,
  cr: 0x0d,
  quote: 0x22,
  hash: 0x23,
  dollar: 0x24,
  star: 0x2a,
  plus: 0x2b,
  comma: 0x2c,
  minus: 0x2d,
  dot: 0x2e,
  slash: 0x2f,
  zero: 0x30,
  lt: 0x3c,
  eq: 0x3d,
  E: 0x45,
  X: 0x58,
  lbrack: 0x5b,
  backslash: 0x5c,
  rbrack: 0x5d,
  e: 0x65,
  x: 0x78,
  lbrace: 0x7b,
  rbrace: 0x7d,
} as const;

export class HclScanner extends RuneReader {
  /** Scanner.next. */
  private next(): number {
    const d = this.readRune();
    if (d < 0) {
      this.column++;
      this.lastCharLen = 0;
      return EOF_RUNE;
    }
    const ch = Math.floor(d / 8);
    const size = d & 7;
    this.savePrev();
    this.column++;
    this.lastCharLen = size;
    this.offset += size;
    if (ch === RUNE_ERROR && size === 1) {
      this.err("illegal UTF-8 encoding");
      return ch;
    }
    if (ch === C.nl) {
      this.line++;
      this.lastLineLen = this.column;
      this.column = 0;
    }
    if (ch === 0) {
      this.err("unexpected null character (0x00)");
      return EOF_RUNE;
    }
    if (ch === 0xe123) {
      this.err("unicode code point U+E123 reserved for internal use");
      return RUNE_ERROR;
    }
    return ch;
  }

  scan(): Token {
    let ch = this.next();
    while (isWhitespace(ch)) ch = this.next();
    this.startToken();

    let tok: TokenType = TokenType.ILLEGAL;
    if (isLetter(ch)) {
      tok = TokenType.IDENT;
      const lit = this.scanIdentifier();
      if (lit === "true" || lit === "false") tok = TokenType.BOOL;
    } else if (isDecimal(ch)) {
      tok = this.scanNumber(ch);
    } else {
      switch (ch) {
        case EOF_RUNE:
          tok = TokenType.EOF;
          break;
        case C.quote:
          tok = TokenType.STRING;
          this.scanString();
          break;
        case C.hash:
        case C.slash:
          tok = TokenType.COMMENT;
          this.scanComment(ch);
          break;
        case C.dot: {
          tok = TokenType.PERIOD;
          const p = this.peek();
          if (isDecimal(p)) {
            tok = TokenType.FLOAT;
            const m = this.scanMantissa(p);
            this.scanExponent(m);
          }
          break;
        }
        case C.lt:
          tok = TokenType.HEREDOC;
          this.scanHeredoc();
          break;
        case C.lbrack:
          tok = TokenType.LBRACK;
          break;
        case C.rbrack:
          tok = TokenType.RBRACK;
          break;
        case C.lbrace:
          tok = TokenType.LBRACE;
          break;
        case C.rbrace:
          tok = TokenType.RBRACE;
          break;
        case C.comma:
          tok = TokenType.COMMA;
          break;
        case C.eq:
          tok = TokenType.ASSIGN;
          break;
        case C.plus:
          tok = TokenType.ADD;
          break;
        case C.minus:
          if (isDecimal(this.peek())) {
            tok = this.scanNumber(this.next());
          } else {
            tok = TokenType.SUB;
          }
          break;
        default:
          this.err("illegal char");
      }
    }
    return this.finishToken(tok, false);
  }

  private scanComment(first: number): void {
    let ch = first;
    if (ch === C.hash || (ch === C.slash && this.peek() !== C.star)) {
      if (ch === C.slash && this.peek() !== C.slash) {
        this.err("expected '/' for comment");
        return;
      }
      ch = this.next();
      while (ch !== C.nl && ch !== EOF_RUNE) ch = this.next();
      if (ch !== EOF_RUNE) this.unread();
      return;
    }
    if (ch === C.slash) {
      this.next();
      ch = this.next();
    }
    for (;;) {
      if (ch === EOF_RUNE) {
        this.err("comment not terminated");
        break;
      }
      const ch0 = ch;
      ch = this.next();
      if (ch0 === C.star && ch === C.slash) break;
    }
  }

  private scanNumber(first: number): TokenType {
    let ch = first;
    if (ch === C.zero) {
      ch = this.next();
      if (ch === C.x || ch === C.X) {
        ch = this.next();
        let found = false;
        while (isHexadecimal(ch)) {
          ch = this.next();
          found = true;
        }
        if (!found) this.err("illegal hexadecimal number");
        if (ch !== EOF_RUNE) this.unread();
        return TokenType.NUMBER;
      }
      let illegalOctal = false;
      while (isDecimal(ch)) {
        ch = this.next();
        // Go checks the rune *after* each digit, so "08" slips through to decode time.
        if (ch === 0x38 || ch === 0x39) illegalOctal = true;
      }
      if (ch === C.e || ch === C.E) {
        this.scanExponent(ch);
        return TokenType.FLOAT;
      }
      if (ch === C.dot) {
        ch = this.scanFraction(ch);
        if (ch === C.e || ch === C.E) {
          ch = this.next();
          this.scanExponent(ch);
        }
        return TokenType.FLOAT;
      }
      if (illegalOctal) this.err("illegal octal number");
      if (ch !== EOF_RUNE) this.unread();
      return TokenType.NUMBER;
    }
    this.scanMantissa(ch);
    ch = this.next();
    if (ch === C.e || ch === C.E) {
      this.scanExponent(ch);
      return TokenType.FLOAT;
    }
    if (ch === C.dot) {
      ch = this.scanFraction(ch);
      if (ch === C.e || ch === C.E) {
        ch = this.next();
        this.scanExponent(ch);
      }
      return TokenType.FLOAT;
    }
    if (ch !== EOF_RUNE) this.unread();
    return TokenType.NUMBER;
  }

  private scanMantissa(first: number): number {
    let ch = first;
    let scanned = false;
    while (isDecimal(ch)) {
      ch = this.next();
      scanned = true;
    }
    if (scanned && ch !== EOF_RUNE) this.unread();
    return ch;
  }

  private scanFraction(first: number): number {
    let ch = first;
    if (ch === C.dot) {
      ch = this.peek();
      ch = this.scanMantissa(ch);
    }
    return ch;
  }

  private scanExponent(first: number): number {
    let ch = first;
    if (ch === C.e || ch === C.E) {
      ch = this.next();
      if (ch === C.minus || ch === C.plus) ch = this.next();
      ch = this.scanMantissa(ch);
    }
    return ch;
  }

  private scanHeredoc(): void {
    if (this.next() !== C.lt) {
      this.err("heredoc expected second '<', didn't see it");
      return;
    }
    const offs = this.offset;
    let ch = this.next();
    if (ch === C.minus) ch = this.next();
    while (isLetter(ch) || isDigit(ch)) ch = this.next();
    if (ch === EOF_RUNE) {
      this.err("heredoc not terminated");
      return;
    }
    if (ch === C.cr && this.peek() === C.nl) ch = this.next();
    if (ch !== C.nl) {
      this.err("invalid characters in heredoc anchor");
      return;
    }
    const ident = this.src.subarray(offs, this.offset - this.lastCharLen);
    if (ident.length === 0 || (ident.length === 1 && ident[0] === C.minus)) {
      this.err("zero-length heredoc anchor");
      return;
    }
    const anchor = ident[0] === C.minus ? ident.subarray(1) : ident;
    let lineStart = this.offset;
    for (;;) {
      const c = this.next();
      if (c === C.nl) {
        const lineEnd = this.offset - this.lastCharLen;
        // Go compares against the full identifier length, "-" included.
        if (
          lineEnd - lineStart >= ident.length &&
          isHeredocTerminator(this.src, lineStart, lineEnd, anchor)
        ) {
          break;
        }
        lineStart = this.offset;
      }
      if (c === EOF_RUNE) {
        this.err("heredoc not terminated");
        return;
      }
    }
  }

  private scanString(): void {
    let braces = 0;
    for (;;) {
      const ch = this.next();
      if ((ch === C.nl && braces === 0) || ch === EOF_RUNE) {
        this.err("literal not terminated");
        return;
      }
      if (ch === C.quote && braces === 0) break;
      if (braces === 0 && ch === C.dollar && this.peek() === C.lbrace) {
        braces++;
        this.next();
      } else if (braces > 0 && ch === C.lbrace) {
        braces++;
      }
      if (braces > 0 && ch === C.rbrace) braces--;
      if (ch === C.backslash) this.scanEscape();
    }
  }

  private scanEscape(): void {
    const ch = this.next();
    switch (ch) {
      case 0x61: // a
      case 0x62: // b
      case 0x66: // f
      case 0x6e: // n
      case 0x72: // r
      case 0x74: // t
      case 0x76: // v
      case C.backslash:
      case C.quote:
        return;
      case 0x30:
      case 0x31:
      case 0x32:
      case 0x33:
      case 0x34:
      case 0x35:
      case 0x36:
      case 0x37:
        this.scanDigits(ch, 8, 3);
        return;
      case C.x:
        this.scanDigits(this.next(), 16, 2);
        return;
      case 0x75: // u
        this.scanDigits(this.next(), 16, 4);
        return;
      case 0x55: // U
        this.scanDigits(this.next(), 16, 8);
        return;
      default:
        this.err("illegal char escape");
    }
  }

  private scanDigits(first: number, base: number, count: number): void {
    let ch = first;
    let n = count;
    while (n > 0 && digitVal(ch) < base) {
      ch = this.next();
      if (ch === EOF_RUNE) break;
      n--;
    }
    if (n > 0) this.err("illegal char escape");
    if (n !== count && ch !== EOF_RUNE) this.unread();
  }

  private scanIdentifier(): string {
    const offs = this.offset - this.lastCharLen;
    let ch = this.next();
    while (isLetter(ch) || isDigit(ch) || ch === C.minus || ch === C.dot) ch = this.next();
    if (ch !== EOF_RUNE) this.unread();
    const end = this.offset;
    // Only compared with "true"/"false": a cheap ASCII view is enough.
    if (end - offs !== 4 && end - offs !== 5) return "";
    return String.fromCharCode(...this.src.subarray(offs, end));
  }
}

const SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);

/**
 * Go matches each heredoc line against `^[[:space:]]*ANCHOR\r*\z`. The anchor is letters and
 * digits, possibly followed by one "\r" (from "<<EOF\r\r\n"), so one candidate split suffices.
 */
export function isHeredocTerminator(
  src: Uint8Array,
  start: number,
  end: number,
  anchor: Uint8Array,
): boolean {
  let e = end;
  let crs = 0;
  while (e > start && src[e - 1] === C.cr) {
    e--;
    crs++;
  }
  let core = anchor;
  if (anchor.length > 0 && anchor[anchor.length - 1] === C.cr) {
    if (crs === 0) return false;
    core = anchor.subarray(0, anchor.length - 1);
  }
  if (e - start < core.length) return false;
  const at = e - core.length;
  for (let i = 0; i < core.length; i++) if (src[at + i] !== core[i]) return false;
  for (let i = start; i < at; i++) if (!SPACE.has(src[i]!)) return false;
  return true;
}
