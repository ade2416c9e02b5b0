/**
 * HCL v1's JSON path (hashicorp/hcl `json/scanner`, `json/parser`, `json/parser/flatten.go`).
 * SPIRE accepts JSON config files and HCL v1 parses any text starting with "{" as JSON, so a
 * plugin_data_file written as JSON takes this path too. Go's quirks are kept: booleans and
 * nested lists inside a list are silently dropped, anything after the first object's items is
 * ignored, parser errors carry no position and scanner errors read "L:C: msg" (no "At").
 * Positions are still recorded on our nodes so our own messages can point at the value.
 */
import {
  type ListNode,
  NO_POS,
  type ObjectItem,
  type ObjectKey,
  type ObjectList,
  type ObjectNode,
  type Pos,
  type Token,
  TokenType,
  tokenTypeName,
  type ValueNode,
} from "./ast";
import { GoPanic, HclError } from "./errors";
import { digitVal, EOF_RUNE, isDecimal, isDigit, isLetter, isWhitespace, RuneReader } from "./scanner";
import { decodeGoString, RUNE_ERROR } from "./utf8";

/**
 * json/scanner/scanner.go. Go's JSON scanner follows hcl/scanner with JSON's rules, so
 * scanMantissa, scanEscape and scanNumber's shape repeat HclScanner's (scanner.ts) on purpose:
 * each class reads against its own Go file, down to where each unreads at end of input.
 */
class JsonScanner extends RuneReader {
  private next(): number {
    const d = this.readRune();
    if (d < 0) {
      this.column++;
      this.lastCharLen = 0;
      return EOF_RUNE;
    }
    const ch = Math.floor(d / 8);
    const size = d & 7;
    if (ch === RUNE_ERROR && size === 1) {
      // Unlike the HCL scanner, Go's JSON scanner does not update prevPos here.
      this.column++;
      this.offset += size;
      this.lastCharLen = size;
      this.err("illegal UTF-8 encoding");
      return ch;
    }
    this.savePrev();
    this.column++;
    this.lastCharLen = size;
    this.offset += size;
    if (ch === 0x0a) {
      this.line++;
      this.lastLineLen = this.column;
      this.column = 0;
    }
    return ch;
  }

  scan(): Token {
    let ch = this.next();
    while (isWhitespace(ch)) ch = this.next();
    this.startToken();
    let tok: TokenType = TokenType.ILLEGAL;
    if (isLetter(ch)) {
      const lit = this.scanIdentifier();
      if (lit === "true" || lit === "false") tok = TokenType.BOOL;
      else if (lit === "null") tok = TokenType.NULL;
      else this.err("illegal char");
    } else if (isDecimal(ch)) {
      tok = this.scanNumber(ch);
    } else {
      switch (ch) {
        case EOF_RUNE:
          tok = TokenType.EOF;
          break;
        case 0x22:
          tok = TokenType.STRING;
          this.scanString();
          break;
        case 0x2e: {
          tok = TokenType.PERIOD;
          const p = this.peek();
          if (isDecimal(p)) {
            tok = TokenType.FLOAT;
            const m = this.scanMantissa(p);
            this.scanExponent(m);
          }
          break;
        }
        case 0x5b:
          tok = TokenType.LBRACK;
          break;
        case 0x5d:
          tok = TokenType.RBRACK;
          break;
        case 0x7b:
          tok = TokenType.LBRACE;
          break;
        case 0x7d:
          tok = TokenType.RBRACE;
          break;
        case 0x2c:
          tok = TokenType.COMMA;
          break;
        case 0x3a:
          tok = TokenType.COLON;
          break;
        case 0x2d:
          if (isDecimal(this.peek())) {
            tok = this.scanNumber(this.next());
          } else {
            this.err("illegal char");
          }
          break;
        default:
          this.err(`illegal char: ${String.fromCodePoint(ch)}`);
      }
    }
    return this.finishToken(tok, true);
  }

  private scanNumber(first: number): TokenType {
    const zero = first === 0x30;
    const startLine = this.line;
    const startColumn = this.column;
    const startOffset = this.offset;
    this.scanMantissa(first);
    let ch = this.next();
    if (ch === 0x65 || ch === 0x45) {
      this.scanExponent(ch);
      return TokenType.FLOAT;
    }
    if (ch === 0x2e) {
      ch = this.scanFraction(ch);
      if (ch === 0x65 || ch === 0x45) {
        ch = this.next();
        this.scanExponent(ch);
      }
      return TokenType.FLOAT;
    }
    if (ch !== EOF_RUNE) this.unread();
    if (zero && (startLine !== this.line || startColumn !== this.column || startOffset !== this.offset)) {
      this.err("numbers cannot start with 0");
    }
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
    if (first !== 0x2e) return first;
    return this.scanMantissa(this.peek());
  }

  private scanExponent(first: number): number {
    let ch = first;
    if (ch === 0x65 || ch === 0x45) {
      ch = this.next();
      if (ch === 0x2d || ch === 0x2b) ch = this.next();
      ch = this.scanMantissa(ch);
    }
    return ch;
  }

  private scanString(): void {
    let braces = 0;
    for (;;) {
      const ch = this.next();
      if (ch === 0x0a || ch === EOF_RUNE) {
        this.err("literal not terminated");
        return;
      }
      if (ch === 0x22) break;
      if (braces === 0 && ch === 0x24 && this.peek() === 0x7b) {
        braces++;
        this.next();
      } else if (braces > 0 && ch === 0x7b) {
        braces++;
      }
      if (braces > 0 && ch === 0x7d) braces--;
      if (ch === 0x5c) this.scanEscape();
    }
  }

  private scanEscape(): void {
    const ch = this.next();
    switch (ch) {
      case 0x61:
      case 0x62:
      case 0x66:
      case 0x6e:
      case 0x72:
      case 0x74:
      case 0x76:
      case 0x5c:
      case 0x22:
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
      case 0x78:
        this.scanDigits(this.next(), 16, 2);
        return;
      case 0x75:
        this.scanDigits(this.next(), 16, 4);
        return;
      case 0x55:
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
      n--;
    }
    if (n > 0) this.err("illegal char escape");
    // Go unreads unconditionally here; at end of input that panics.
    this.unread();
  }

  private scanIdentifier(): string {
    const offs = this.offset - this.lastCharLen;
    let ch = this.next();
    while (isLetter(ch) || isDigit(ch) || ch === 0x2d) ch = this.next();
    if (ch !== EOF_RUNE) this.unread();
    const end = this.offset;
    if (end - offs > 5) return "";
    return String.fromCharCode(...this.src.subarray(offs, end));
  }
}

class EofSignal {}
const EOF_SIGNAL = new EofSignal();
type Result<T> = T | HclError | EofSignal;

/** Go's JSON parser errors carry no position; ours keep one for operators. */
function jsonError(pos: Pos, msg: string): HclError {
  return new HclError(pos, msg, msg);
}

function describeJsonToken(t: Token): string {
  const pos = t.pos.line > 0 ? `${t.pos.line}:${t.pos.column}` : "-";
  return `${pos} ${tokenTypeName[t.type]} ${decodeGoString(t.raw)}`;
}

/** json/token.HCLToken: null becomes an empty string literal. */
function literalFor(t: Token): ValueNode {
  if (t.type === TokenType.NULL) {
    return {
      kind: "literal",
      token: { type: TokenType.STRING, pos: t.pos, raw: new Uint8Array(0), json: true },
    };
  }
  return { kind: "literal", token: t };
}

class JsonParser {
  private tok: Token = { type: TokenType.ILLEGAL, pos: NO_POS, raw: new Uint8Array(0), json: true };
  private buffered = false;
  private depth = 0;
  scanError: HclError | undefined;
  readonly sc: JsonScanner;

  constructor(
    src: Uint8Array,
    private readonly maxDepth: number,
  ) {
    this.sc = new JsonScanner(src, (pos, msg) => {
      const text = `${pos.line}:${pos.column}: ${msg}`;
      this.scanError = new HclError(pos, msg, text);
    });
  }

  private scan(): Token {
    if (this.buffered) {
      this.buffered = false;
      return this.tok;
    }
    this.tok = this.sc.scan();
    return this.tok;
  }

  top(): Result<ObjectNode> {
    const t = this.scan();
    if (t.type === TokenType.LBRACE) return this.objectType();
    if (t.type === TokenType.EOF) return EOF_SIGNAL;
    return jsonError(t.pos, `Expected object, got unknown token: ${describeJsonToken(t)}`);
  }

  private objectList(): { list: ObjectList; err: HclError | undefined } {
    const list: ObjectList = { kind: "objectList", items: [] };
    for (;;) {
      const item = this.objectItem();
      if (item instanceof EofSignal) break;
      if (item instanceof HclError) return { list, err: item };
      list.items.push(item);
      if (this.scan().type !== TokenType.COMMA) break;
    }
    return { list, err: undefined };
  }

  private objectItem(): Result<ObjectItem> {
    const keys = this.objectKey();
    if (!Array.isArray(keys)) return keys;
    const v = this.objectValue();
    if (v instanceof HclError || v instanceof EofSignal) return v;
    return { kind: "item", keys, val: v, assign: true };
  }

  private objectKey(): ObjectKey[] | HclError | EofSignal {
    const keys: ObjectKey[] = [];
    for (;;) {
      const t = this.scan();
      switch (t.type) {
        case TokenType.EOF:
          return EOF_SIGNAL;
        case TokenType.STRING:
          keys.push({ kind: "key", token: t });
          break;
        case TokenType.COLON:
          if (keys.length === 0) return jsonError(t.pos, "expected: STRING got: COLON");
          return keys;
        case TokenType.ILLEGAL:
          return jsonError(t.pos, "illegal");
        default:
          return jsonError(t.pos, `expected: STRING got: ${tokenTypeName[t.type]}`);
      }
    }
  }

  private objectValue(): Result<ValueNode> {
    const t = this.scan();
    switch (t.type) {
      case TokenType.NUMBER:
      case TokenType.FLOAT:
      case TokenType.BOOL:
      case TokenType.NULL:
      case TokenType.STRING:
        return literalFor(t);
      case TokenType.LBRACE:
        return this.objectType();
      case TokenType.LBRACK:
        return this.listType();
      case TokenType.EOF:
        return EOF_SIGNAL;
    }
    return new HclError(
      t.pos,
      `Expected object value, got unknown token: ${tokenTypeName[t.type]}`,
      `Expected object value, got unknown token: ${describeJsonToken(t)}`,
    );
  }

  private objectType(): Result<ObjectNode> {
    const lbrace = this.tok.pos;
    if (++this.depth > this.maxDepth) {
      return new HclError(lbrace, `nesting too deep (more than ${this.maxDepth} levels)`);
    }
    try {
      const { list, err } = this.objectList();
      if (err !== undefined && this.tok.type !== TokenType.RBRACE) return err;
      return { kind: "object", lbrace, list };
    } finally {
      this.depth--;
    }
  }

  private listType(): Result<ListNode> {
    const lbrack = this.tok.pos;
    if (++this.depth > this.maxDepth) {
      return new HclError(lbrack, `nesting too deep (more than ${this.maxDepth} levels)`);
    }
    try {
      const node: ListNode = { kind: "list", lbrack, items: [] };
      for (;;) {
        const t = this.scan();
        switch (t.type) {
          case TokenType.NUMBER:
          case TokenType.FLOAT:
          case TokenType.STRING:
            node.items.push(literalFor(t));
            break;
          case TokenType.COMMA:
            break;
          case TokenType.LBRACE: {
            const o = this.objectType();
            if (o instanceof HclError || o instanceof EofSignal) return o;
            node.items.push(o);
            break;
          }
          // Go ignores these two inside a list: [true, [1]] decodes as [1].
          case TokenType.BOOL:
          case TokenType.LBRACK:
            break;
          case TokenType.RBRACK:
            return node;
          default:
            return jsonError(t.pos, `unexpected token while parsing list: ${tokenTypeName[t.type]}`);
        }
      }
    } finally {
      this.depth--;
    }
  }
}

/** Parses JSON-syntax HCL and applies Go's flattenObjects. Throws HclError. */
export function parseJson(src: Uint8Array, maxDepth: number): ObjectList {
  const p = new JsonParser(src, maxDepth);
  let r: Result<ObjectNode>;
  try {
    r = p.top();
  } catch (e) {
    if (e instanceof GoPanic) {
      throw new HclError(p.scanError?.pos ?? NO_POS, `parser panic: ${e.message}`, `panic: ${e.message}`);
    }
    throw e;
  }
  if (p.scanError !== undefined) throw p.scanError;
  if (r instanceof EofSignal) throw jsonError(NO_POS, "EOF token found");
  if (r instanceof HclError) throw r;
  flattenObjects(r.list);
  return r.list;
}

/**
 * flatten.go: an object whose members are all objects becomes multi-key items, and a list of
 * objects becomes repeated items, so that JSON decodes to the same shape as HCL blocks.
 * Iterative over lists (Go uses a frontier stack), recursive over nesting, which the parser
 * has already bounded.
 */
function flattenObjects(list: ObjectList): void {
  const items: ObjectItem[] = [];
  const frontier = list.items.slice();
  while (frontier.length > 0) {
    const item = frontier.pop()!;
    const v = item.val;
    if (v?.kind === "object") {
      const sub = v.list.items;
      if (sub.length === 0 || sub.some((s) => s.val?.kind !== "object")) {
        items.push(item);
      } else {
        for (const s of sub) {
          frontier.push({ kind: "item", keys: [...item.keys, ...s.keys], val: s.val, assign: item.assign });
        }
      }
    } else if (v?.kind === "list") {
      if (v.items.length === 0 || v.items.some((e) => e.kind !== "object")) {
        items.push(item);
      } else {
        for (const e of v.items)
          frontier.push({ kind: "item", keys: item.keys, val: e, assign: item.assign });
      }
    } else {
      items.push(item);
    }
  }
  items.reverse();
  list.items = items;
  for (const item of items) {
    if (item.val !== undefined) flattenValue(item.val);
  }
}

function flattenValue(v: ValueNode): void {
  if (v.kind === "object") flattenObjects(v.list);
  else if (v.kind === "list") for (const e of v.items) flattenValue(e);
}
