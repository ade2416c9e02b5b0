/**
 * HCL v1's recursive-descent parser (hashicorp/hcl `hcl/parser`), with Go's control flow
 * kept where it decides what is accepted: `a =` at end of input is an empty file, not an
 * error; a scanner error anywhere wins over the parser's own error (the last one reported
 * before parsing stopped); `x { a = }` swallows the bad item and wants another `}`.
 *
 * Two additions Go does not have: a nesting-depth cap and an input-size cap, so a hostile or
 * broken plugin_data costs bounded time and stack.
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
import { formatPos, GoPanic, HclError } from "./errors";
import { parseJson } from "./json";
import { HclScanner } from "./scanner";
import { decodeGoString, decodeRune, encodeUtf8, isUnicodeSpace } from "./utf8";

/** Inputs above this size are refused before scanning (SPIRE configs are a few KiB). */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** Objects, lists and multi-key labels nested deeper than this are refused. */
export const MAX_DEPTH = 100;

export interface ParseOptions {
  maxBytes?: number;
  maxDepth?: number;
}

export interface ParsedFile {
  root: ObjectList;
  /** true when the input took HCL v1's JSON path (first non-space character is "{"). */
  json: boolean;
  /** The bytes the positions refer to (after Go's CRLF normalisation for HCL input). */
  source: Uint8Array;
}

class EofSignal {}
const EOF_SIGNAL = new EofSignal();

type Result<T> = T | HclError | EofSignal;

function isFailure<T>(r: Result<T>): r is HclError | EofSignal {
  return r instanceof HclError || r instanceof EofSignal;
}

/** Go's `%+v` of a token: "line:col TYPE text". */
export function describeToken(tok: Token): string {
  const pos = tok.pos.line > 0 ? `${tok.pos.line}:${tok.pos.column}` : "-";
  return `${pos} ${tokenTypeName[tok.type]} ${decodeGoString(tok.raw)}`;
}

class HclParser {
  private tok: Token = { type: TokenType.ILLEGAL, pos: NO_POS, raw: new Uint8Array(0), json: false };
  private buffered = false;
  private depth = 0;
  scanError: HclError | undefined;
  private readonly sc: HclScanner;

  constructor(
    src: Uint8Array,
    private readonly maxDepth: number,
  ) {
    this.sc = new HclScanner(src, (pos, msg) => {
      this.scanError = new HclError(pos, msg);
    });
  }

  private scan(): Token {
    if (this.buffered) {
      this.buffered = false;
      return this.tok;
    }
    // Comments never reach the grammar: Go's scan() folds them into comment groups.
    do {
      this.tok = this.sc.scan();
    } while (this.tok.type === TokenType.COMMENT);
    return this.tok;
  }

  private unscan(): void {
    this.buffered = true;
  }

  private enter(pos: Pos): HclError | undefined {
    this.depth++;
    if (this.depth > this.maxDepth) {
      return new HclError(pos, `nesting too deep (more than ${this.maxDepth} levels)`);
    }
    return undefined;
  }

  objectList(obj: boolean): { list: ObjectList; err: HclError | undefined } {
    const list: ObjectList = { kind: "objectList", items: [] };
    for (;;) {
      if (obj) {
        const t = this.scan();
        this.unscan();
        if (t.type === TokenType.RBRACE) break;
      }
      const item = this.objectItem();
      if (item instanceof EofSignal) break;
      if (item instanceof HclError) return { list, err: item };
      list.items.push(item);
      const t = this.scan();
      if (t.type !== TokenType.COMMA) this.unscan();
    }
    return { list, err: undefined };
  }

  private objectItem(): Result<ObjectItem> {
    const { keys, err: keyErr } = this.objectKey();
    let err = keyErr;
    if (keys.length > 0 && err instanceof EofSignal) err = undefined;
    if (keys.length > 0 && err !== undefined && this.tok.type === TokenType.RBRACE) {
      // Go: keys without a value inside an object; report the missing "=" below instead.
      err = undefined;
      this.tok = { ...this.tok, type: TokenType.EOF };
    }
    if (err !== undefined) return err;

    if (keys.length > 1) {
      const deep = this.checkDepth(keys.length - 1, keys[1]!.token.pos);
      if (deep) return deep;
    }
    let val: ValueNode;
    let assign = false;
    switch (this.tok.type) {
      case TokenType.ASSIGN: {
        assign = true;
        const v = this.object();
        if (isFailure(v)) return v;
        val = v;
        break;
      }
      case TokenType.LBRACE: {
        const v = this.objectType();
        if (isFailure(v)) return v;
        val = v;
        break;
      }
      default: {
        const names = keys.map((k) => decodeGoString(k.token.raw)).join(" ");
        return new HclError(
          this.tok.pos,
          `key '${names}' expected start of object ('{') or assignment ('=')`,
        );
      }
    }
    // Go looks one token ahead here (for a trailing line comment); that scan can hit a
    // scanner error, so we make it too.
    this.scan();
    this.unscan();
    return { kind: "item", keys, val, assign };
  }

  private checkDepth(extra: number, pos: Pos): HclError | undefined {
    if (this.depth + extra > this.maxDepth) {
      return new HclError(pos, `nesting too deep (more than ${this.maxDepth} levels)`);
    }
    return undefined;
  }

  private objectKey(): { keys: ObjectKey[]; err: HclError | EofSignal | undefined } {
    const keys: ObjectKey[] = [];
    for (;;) {
      const t = this.scan();
      switch (t.type) {
        case TokenType.EOF:
          return { keys, err: EOF_SIGNAL };
        case TokenType.ASSIGN:
          if (keys.length > 1) {
            return { keys: [], err: new HclError(t.pos, "nested object expected: LBRACE got: ASSIGN") };
          }
          if (keys.length === 0) {
            return { keys: [], err: new HclError(t.pos, "no object keys found!") };
          }
          return { keys, err: undefined };
        case TokenType.LBRACE:
          if (keys.length === 0) {
            return { keys, err: new HclError(t.pos, "expected: IDENT | STRING got: LBRACE") };
          }
          return { keys, err: undefined };
        case TokenType.IDENT:
        case TokenType.STRING:
          keys.push({ kind: "key", token: t });
          break;
        case TokenType.ILLEGAL:
          return { keys, err: new HclError(t.pos, "illegal character") };
        default:
          return {
            keys,
            err: new HclError(
              t.pos,
              `expected: IDENT | STRING | ASSIGN | LBRACE got: ${tokenTypeName[t.type]}`,
            ),
          };
      }
    }
  }

  private object(): Result<ValueNode> {
    const t = this.scan();
    switch (t.type) {
      case TokenType.NUMBER:
      case TokenType.FLOAT:
      case TokenType.BOOL:
      case TokenType.STRING:
      case TokenType.HEREDOC:
        return { kind: "literal", token: t };
      case TokenType.LBRACE:
        return this.objectType();
      case TokenType.LBRACK:
        return this.listType();
      case TokenType.EOF:
        return EOF_SIGNAL;
    }
    // Go's text echoes the token, which may be part of an unquoted secret: keep it for the
    // differential tests only.
    return new HclError(
      t.pos,
      `Unknown token: ${tokenTypeName[t.type]} where a value was expected`,
      `At ${formatPos(t.pos)}: Unknown token: ${describeToken(t)}`,
    );
  }

  private objectType(): Result<ObjectNode> {
    const lbrace = this.tok.pos;
    const deep = this.enter(lbrace);
    if (deep) return deep;
    try {
      const { list, err } = this.objectList(true);
      if (err !== undefined && this.tok.type !== TokenType.RBRACE) return err;
      const t = this.scan();
      if (t.type !== TokenType.RBRACE) {
        return new HclError(t.pos, `object expected closing RBRACE got: ${tokenTypeName[t.type]}`);
      }
      return { kind: "object", lbrace, list };
    } finally {
      this.depth--;
    }
  }

  private listType(): Result<ListNode> {
    const lbrack = this.tok.pos;
    const deep = this.enter(lbrack);
    if (deep) return deep;
    try {
      const node: ListNode = { kind: "list", lbrack, items: [] };
      let needComma = false;
      for (;;) {
        const t = this.scan();
        if (needComma && t.type !== TokenType.COMMA && t.type !== TokenType.RBRACK) {
          return new HclError(
            t.pos,
            `error parsing list, expected comma or list end, got: ${tokenTypeName[t.type]}`,
          );
        }
        switch (t.type) {
          case TokenType.BOOL:
          case TokenType.NUMBER:
          case TokenType.FLOAT:
          case TokenType.STRING:
          case TokenType.HEREDOC:
            node.items.push({ kind: "literal", token: t });
            needComma = true;
            break;
          case TokenType.COMMA:
            this.scan();
            this.unscan();
            needComma = false;
            break;
          case TokenType.LBRACE: {
            const o = this.objectType();
            if (o instanceof HclError) {
              if (o.detail.startsWith("nesting too deep")) return o;
              return wrapError(t.pos, "error while trying to parse object within list", o);
            }
            if (o instanceof EofSignal) {
              return new HclError(t.pos, "error while trying to parse object within list: EOF token found");
            }
            node.items.push(o);
            needComma = true;
            break;
          }
          case TokenType.LBRACK: {
            const l = this.listType();
            if (l instanceof HclError) {
              if (l.detail.startsWith("nesting too deep")) return l;
              return wrapError(t.pos, "error while trying to parse list within list", l);
            }
            if (l instanceof EofSignal) {
              return new HclError(t.pos, "error while trying to parse list within list: EOF token found");
            }
            node.items.push(l);
            // Go does not set needComma after a nested list: "[[1] [2]]" is accepted.
            break;
          }
          case TokenType.RBRACK:
            return node;
          default:
            return new HclError(t.pos, `unexpected token while parsing list: ${tokenTypeName[t.type]}`);
        }
      }
    } finally {
      this.depth--;
    }
  }
}

function wrapError(pos: Pos, what: string, inner: HclError): HclError {
  return new HclError(pos, `${what}: ${inner.message}`, `At ${formatPos(pos)}: ${what}: ${inner.goMessage}`);
}

/** Go's lexMode: JSON when the first non-space rune is "{". */
function isJsonInput(src: Uint8Array): boolean {
  let i = 0;
  for (;;) {
    if (i >= src.length) return false;
    const d = decodeRune(src, i);
    const r = Math.floor(d / 8);
    i += d & 7;
    if (isUnicodeSpace(r)) continue;
    return r === 0x7b;
  }
}

/** bytes.Replace(src, "\r\n", "\n"), as hcl/parser.Parse does before scanning. */
function normalizeCrlf(src: Uint8Array): Uint8Array {
  const i = src.indexOf(0x0d);
  if (i < 0) return src;
  const out = new Uint8Array(src.length);
  let n = 0;
  for (let j = 0; j < src.length; j++) {
    const b = src[j]!;
    if (b === 0x0d && src[j + 1] === 0x0a) continue;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * Parses HCL v1 (or JSON, as HCL v1 does when the text starts with "{"). Throws HclError.
 */
export function parse(input: string | Uint8Array, options: ParseOptions = {}): ParsedFile {
  const bytes = typeof input === "string" ? encodeUtf8(input) : input;
  const maxBytes = options.maxBytes ?? MAX_INPUT_BYTES;
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  if (bytes.length > maxBytes) {
    throw new HclError(
      { line: 1, column: 1, offset: 0 },
      `input too large: ${bytes.length} bytes (limit ${maxBytes})`,
    );
  }
  if (isJsonInput(bytes)) {
    return { root: parseJson(bytes, maxDepth), json: true, source: bytes };
  }
  const src = normalizeCrlf(bytes);
  const p = new HclParser(src, maxDepth);
  let result: { list: ObjectList; err: HclError | undefined };
  try {
    result = p.objectList(false);
  } catch (e) {
    if (e instanceof GoPanic) throw new HclError(p.scanError?.pos ?? NO_POS, `parser panic: ${e.message}`);
    throw e;
  }
  if (p.scanError !== undefined) throw p.scanError;
  if (result.err !== undefined) throw result.err;
  return { root: result.list, json: false, source: src };
}
