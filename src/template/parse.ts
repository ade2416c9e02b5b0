/**
 * Lexer and parser for the subset of Go's text/template that path templates use.
 *
 * A deliberate port of Go 1.25's src/text/template/parse (lex.go, parse.go, node.go's String
 * forms), so that a template SPIRE accepts parses to the same tree here, and a template SPIRE
 * rejects is rejected here too. What a path has no use for (range, define/template/block,
 * break/continue, the functions of functions.ts's REFUSED_FUNCS) is refused with a message
 * that names the construct: a silent difference in an agent ID would re-key every agent,
 * which is worse than refusing the configuration.
 *
 * Positions are byte offsets into the template, as Go reports them in "agent-path:L:C".
 */

export class TemplateSyntaxError extends Error {
  override readonly name = "TemplateSyntaxError";
}

export type ArgNode =
  | { readonly type: "field"; readonly pos: number; readonly idents: readonly string[] }
  | { readonly type: "dot"; readonly pos: number }
  | { readonly type: "nil"; readonly pos: number }
  | { readonly type: "variable"; readonly pos: number; readonly idents: readonly string[] }
  | { readonly type: "identifier"; readonly pos: number; readonly name: string }
  | { readonly type: "bool"; readonly pos: number; readonly value: boolean }
  | { readonly type: "number"; readonly pos: number; readonly num: NumberConstant }
  | { readonly type: "string"; readonly pos: number; readonly text: string; readonly value: string }
  | { readonly type: "pipe"; readonly pos: number; readonly pipe: PipeNode }
  | {
      readonly type: "chain";
      readonly pos: number;
      readonly node: ArgNode;
      readonly fields: readonly string[];
    };

export interface NumberConstant {
  readonly text: string;
  readonly isInt: boolean;
  readonly int: bigint;
  readonly isFloat: boolean;
  readonly float: number;
  /** A rune literal such as 'a': an int, printed as its number. */
  readonly isChar: boolean;
}

export interface CommandNode {
  readonly pos: number;
  readonly args: readonly ArgNode[];
}

export interface PipeNode {
  readonly pos: number;
  readonly isAssign: boolean;
  readonly decl: readonly string[];
  readonly cmds: readonly CommandNode[];
}

export type TemplateNode =
  | { readonly type: "text"; readonly pos: number; readonly text: string }
  | { readonly type: "action"; readonly pos: number; readonly pipe: PipeNode }
  | {
      readonly type: "if" | "with";
      readonly pos: number;
      readonly pipe: PipeNode;
      readonly list: readonly TemplateNode[];
      readonly elseList: readonly TemplateNode[] | null;
    };

// ---------------------------------------------------------------------------------------
// Lexer

type ItemType =
  | "text"
  | "leftDelim"
  | "rightDelim"
  | "space"
  | "pipe"
  | "leftParen"
  | "rightParen"
  | "declare"
  | "assign"
  | "field"
  | "dot"
  | "variable"
  | "identifier"
  | "keyword"
  | "bool"
  | "nil"
  | "number"
  | "charConstant"
  | "string"
  | "rawString"
  | "char"
  | "eof";

interface Item {
  readonly type: ItemType;
  readonly pos: number;
  readonly val: string;
}

const KEYWORDS = new Set([
  "block",
  "break",
  "continue",
  "define",
  "else",
  "end",
  "if",
  "range",
  "nil",
  "template",
  "with",
]);

const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlphaNumeric = (c: string): boolean => c === "_" || /^[\p{L}\p{Nd}]$/u.test(c);

function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  const emit = (type: ItemType, start: number, end: number): void => {
    items.push({ type, pos: start, val: input.slice(start, end) });
  };
  const fail = (msg: string): never => {
    throw new TemplateSyntaxError(`${lineOf(input, pos)}: ${msg}`);
  };

  while (pos < input.length) {
    // Text up to the next left delimiter.
    const next = input.indexOf("{{", pos);
    const textEnd = next < 0 ? input.length : next;
    let trimmedEnd = textEnd;
    const leftTrim = next >= 0 && input[next + 2] === "-" && isSpace(input[next + 3] ?? "");
    if (leftTrim) {
      while (trimmedEnd > pos && isSpace(input[trimmedEnd - 1] ?? "")) trimmedEnd--;
    }
    if (trimmedEnd > pos) emit("text", pos, trimmedEnd);
    if (next < 0) break;

    // Left delimiter.
    emit("leftDelim", next, next + 2);
    pos = next + 2 + (leftTrim ? 2 : 0);

    // Comment: {{/* ... */}}, only directly after the delimiter (and trim marker).
    if (input.startsWith("/*", pos)) {
      const end = input.indexOf("*/", pos + 2);
      if (end < 0) fail("unclosed comment");
      pos = end + 2;
      const rightTrim = input.startsWith(" -}}", pos) || input.startsWith("\t-}}", pos);
      if (!rightTrim && !input.startsWith("}}", pos)) fail("comment ends before closing delimiter");
      items.pop(); // A comment produces no node.
      pos += rightTrim ? 4 : 2;
      if (rightTrim) while (pos < input.length && isSpace(input[pos] ?? "")) pos++;
      continue;
    }

    // Inside the action.
    let parenDepth = 0;
    for (;;) {
      if (pos >= input.length) fail("unclosed action");
      const rightTrim = isSpace(input[pos] ?? "") && input.startsWith("-}}", pos + 1);
      if (rightTrim || input.startsWith("}}", pos)) {
        if (parenDepth > 0) fail("unclosed left paren");
        if (rightTrim) {
          // The space before the trim marker is still a separator.
          emit("space", pos, pos + 1);
          pos += 2;
        }
        emit("rightDelim", pos, pos + 2);
        pos += 2;
        if (rightTrim) while (pos < input.length && isSpace(input[pos] ?? "")) pos++;
        break;
      }
      const c = input[pos] ?? "";
      const start = pos;
      if (isSpace(c)) {
        while (pos < input.length && isSpace(input[pos] ?? "")) {
          if (isSpace(input[pos] ?? "") && input.startsWith("-}}", pos + 1)) break;
          pos++;
        }
        if (pos > start) emit("space", start, pos);
        continue;
      }
      if (c === "=") {
        pos++;
        emit("assign", start, pos);
      } else if (c === ":") {
        if (input[pos + 1] !== "=") fail("expected :=");
        pos += 2;
        emit("declare", start, pos);
      } else if (c === "|") {
        pos++;
        emit("pipe", start, pos);
      } else if (c === '"') {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === undefined || d === "\n") fail("unterminated quoted string");
          pos++;
          if (d === "\\") {
            if (input[pos] === undefined || input[pos] === "\n") fail("unterminated quoted string");
            pos++;
          } else if (d === '"') break;
        }
        emit("string", start, pos);
      } else if (c === "`") {
        const end = input.indexOf("`", pos + 1);
        if (end < 0) fail("unterminated raw quoted string");
        pos = end + 1;
        emit("rawString", start, pos);
      } else if (c === "'") {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === undefined || d === "\n") fail("unterminated character constant");
          pos++;
          if (d === "\\") {
            if (input[pos] === undefined || input[pos] === "\n") fail("unterminated character constant");
            pos++;
          } else if (d === "'") break;
        }
        emit("charConstant", start, pos);
      } else if (c === "$") {
        pos++;
        while (pos < input.length && isAlphaNumeric(input[pos] ?? "")) pos++;
        emit("variable", start, pos);
      } else if (c === "." && !/[0-9]/.test(input[pos + 1] ?? "")) {
        pos++;
        if (isAlphaNumeric(input[pos] ?? "")) {
          while (pos < input.length && isAlphaNumeric(input[pos] ?? "")) pos++;
          emit("field", start, pos);
        } else {
          emit("dot", start, pos);
        }
      } else if (c === "+" || c === "-" || c === "." || /[0-9]/.test(c)) {
        pos = scanNumber(input, pos);
        if (!atTerminator(input, pos)) {
          pos++;
          fail(`bad number syntax: "${input.slice(start, pos)}"`);
        }
        emit("number", start, pos);
      } else if (isAlphaNumeric(c)) {
        while (pos < input.length && isAlphaNumeric(input[pos] ?? "")) pos++;
        if (!atTerminator(input, pos)) fail(`bad character ${goQuoteRune(input[pos] ?? "")}`);
        const word = input.slice(start, pos);
        if (KEYWORDS.has(word) && word !== "nil") emit("keyword", start, pos);
        else if (word === "nil") emit("nil", start, pos);
        else if (word === "true" || word === "false") emit("bool", start, pos);
        else emit("identifier", start, pos);
      } else if (c === "(") {
        pos++;
        parenDepth++;
        emit("leftParen", start, pos);
      } else if (c === ")") {
        pos++;
        parenDepth--;
        if (parenDepth < 0) fail("unexpected right paren");
        emit("rightParen", start, pos);
      } else if (c.charCodeAt(0) <= 0x7f && c.charCodeAt(0) >= 0x20) {
        pos++;
        emit("char", start, pos);
      } else {
        fail(`unrecognized character in action: ${goQuoteRune(c)}`);
      }
    }
  }
  items.push({ type: "eof", pos: input.length, val: "" });
  return items;
}

function goQuoteRune(c: string): string {
  return c === "\n"
    ? "U+000A"
    : `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")} '${c}'`;
}

function atTerminator(input: string, pos: number): boolean {
  const c = input[pos];
  if (c === undefined || isSpace(c)) return true;
  if (".,|:)(".includes(c)) return true;
  return input.startsWith("}}", pos);
}

/** Go's lexer scanNumber: sign, base prefix, digits with underscores, fraction, exponent. */
function scanNumber(input: string, start: number): number {
  let pos = start;
  if (input[pos] === "+" || input[pos] === "-") pos++;
  let digits = "0123456789_";
  let exp = "eE";
  if (input[pos] === "0" && /[xXoObB]/.test(input[pos + 1] ?? "")) {
    const base = (input[pos + 1] ?? "").toLowerCase();
    pos += 2;
    digits = base === "x" ? "0123456789abcdefABCDEF_" : base === "o" ? "01234567_" : "01_";
    exp = base === "x" ? "pP" : "";
  }
  while (pos < input.length && digits.includes(input[pos] ?? "")) pos++;
  if (input[pos] === ".") {
    pos++;
    while (pos < input.length && digits.includes(input[pos] ?? "")) pos++;
  }
  if (exp !== "" && exp.includes(input[pos] ?? "")) {
    pos++;
    if (input[pos] === "+" || input[pos] === "-") pos++;
    while (pos < input.length && "0123456789_".includes(input[pos] ?? "")) pos++;
  }
  if (input[pos] === "i") pos++;
  return pos;
}

function lineOf(input: string, pos: number): string {
  return `agent-path:${1 + countNewlines(input.slice(0, pos))}`;
}

function countNewlines(s: string): number {
  let n = 0;
  for (const c of s) if (c === "\n") n++;
  return n;
}

// ---------------------------------------------------------------------------------------
// Literals

/** strconv.Unquote for "…" and '…' literals (Go escapes). */
export function unquoteGo(text: string): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? "";
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i] ?? "";
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
    };
    const mapped = simple[e];
    if (mapped !== undefined) {
      out += mapped;
    } else if (e === quote) {
      out += e;
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new TemplateSyntaxError("invalid syntax");
      const cp = Number.parseInt(hex, 16);
      if (e === "x") {
        // \xHH is a byte; a lone high byte is invalid UTF-8, which a SPIFFE path rejects anyway.
        out += String.fromCharCode(cp);
      } else {
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new TemplateSyntaxError("invalid syntax");
        out += String.fromCodePoint(cp);
      }
      i += n;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || Number.parseInt(oct, 8) > 255)
        throw new TemplateSyntaxError("invalid syntax");
      out += String.fromCharCode(Number.parseInt(oct, 8));
      i += 2;
    } else {
      throw new TemplateSyntaxError("invalid syntax");
    }
  }
  return out;
}

function parseNumber(text: string, isChar: boolean): NumberConstant | null {
  if (isChar) {
    let rune: string;
    try {
      rune = unquoteGo(text);
    } catch {
      return null;
    }
    const cps = [...rune];
    if (cps.length !== 1) return null;
    const cp = BigInt(cps[0]?.codePointAt(0) ?? 0);
    return { text, isInt: true, int: cp, isFloat: true, float: Number(cp), isChar: true };
  }
  if (text.endsWith("i")) return null; // complex constants: not meaningful in a path
  const clean = text.replace(/_/g, "");
  // Go accepts underscores only between digits / after a base prefix.
  if (/(^[+-]?_)|__|_$|_\.|\._/.test(text)) return null;
  let int: bigint | null = null;
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(clean);
  if (m) {
    const sign = m[1] === "-" ? -1n : 1n;
    let digits = m[2] ?? "0";
    // Go's base-0 parsing treats a leading 0 as octal.
    if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
    int = sign * BigInt(digits);
  }
  if (int !== null) {
    if (int > 9223372036854775807n || int < -9223372036854775808n) {
      // Go: uint64 range still parses (IsUint); anything bigger is a float. Keep it a float.
      return { text, isInt: false, int: 0n, isFloat: true, float: Number(int), isChar: false };
    }
    return { text, isInt: true, int, isFloat: true, float: Number(int), isChar: false };
  }
  let f: number;
  if (/^[+-]?0[xX]/.test(clean)) {
    f = parseHexFloat(clean);
  } else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean)) {
    f = Number(clean);
  } else {
    return null;
  }
  if (!Number.isFinite(f)) return null;
  const isInt = Number.isInteger(f) && Math.abs(f) <= Number.MAX_SAFE_INTEGER;
  return { text, isInt, int: isInt ? BigInt(f) : 0n, isFloat: true, float: f, isChar: false };
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
  if (!m || (m[2] === "" && m[3] === "")) return Number.NaN;
  const frac = m[3] ?? "";
  const mant = Number.parseInt(`${m[2] ?? ""}${frac}` || "0", 16) / 16 ** frac.length;
  return (m[1] === "-" ? -1 : 1) * mant * 2 ** Number(m[4]);
}

// ---------------------------------------------------------------------------------------
// Parser

/** Go actions a path template cannot use, with the reason shown to the operator. */
const REFUSED_ACTIONS: Readonly<Record<string, string>> = {
  range:
    "a loop's output has no bound, and the data holds nothing a path would list (pick tags with index or .Tags.<key>)",
  break: "it only exists inside range",
  continue: "it only exists inside range",
  define: "a path is a single template; named templates have no use",
  template: "a path is a single template; named templates have no use",
  block: "a path is a single template; named templates have no use",
};

export interface ParseOptions {
  /** Functions the template may call; others are "not defined" (Go's parse error). */
  readonly isFunction: (name: string) => boolean;
  /** Why a name SPIRE allows is refused here, or undefined: a clear error instead. */
  readonly refusedFunction: (name: string) => string | undefined;
  readonly maxDepth: number;
}

export function parseTemplate(input: string, options: ParseOptions): TemplateNode[] {
  return new Parser(input, lex(input), options).parseRoot();
}

class Parser {
  private i = 0;
  private vars: string[] = ["$"];
  private depth = 0;

  constructor(
    private readonly input: string,
    private readonly items: Item[],
    private readonly options: ParseOptions,
  ) {}

  private fail(msg: string, pos?: number): never {
    const at = pos ?? this.items[Math.min(this.i, this.items.length - 1)]?.pos ?? 0;
    throw new TemplateSyntaxError(`${lineOf(this.input, at)}: ${msg}`);
  }

  private peek(): Item {
    return this.items[this.i] ?? { type: "eof", pos: this.input.length, val: "" };
  }

  private next(): Item {
    const item = this.peek();
    if (this.i < this.items.length) this.i++;
    return item;
  }

  private nextNonSpace(): Item {
    let item = this.next();
    while (item.type === "space") item = this.next();
    return item;
  }

  private peekNonSpace(): Item {
    const save = this.i;
    const item = this.nextNonSpace();
    this.i = save;
    return item;
  }

  private enter(): void {
    if (++this.depth > this.options.maxDepth)
      this.fail(`template nesting exceeds ${this.options.maxDepth} levels`);
  }

  parseRoot(): TemplateNode[] {
    const list: TemplateNode[] = [];
    for (;;) {
      const item = this.peek();
      if (item.type === "eof") return list;
      const node = this.textOrAction();
      if (node.kind !== "node") this.fail(`unexpected ${node.text}`, node.pos);
      else list.push(node.node);
    }
  }

  private textOrAction(
    context?: "if" | "with",
  ):
    | { kind: "node"; node: TemplateNode }
    | { kind: "end" | "else"; text: string; pos: number; elseKeyword?: "if" | "with" } {
    const item = this.next();
    if (item.type === "text") return { kind: "node", node: { type: "text", pos: item.pos, text: item.val } };
    if (item.type !== "leftDelim") this.fail(`unexpected ${describe(item)} in input`, item.pos);
    return this.action(item.pos, context);
  }

  private action(
    pos: number,
    context?: "if" | "with",
  ):
    | { kind: "node"; node: TemplateNode }
    | { kind: "end" | "else"; text: string; pos: number; elseKeyword?: "if" | "with" } {
    const item = this.peekNonSpace();
    if (item.type === "keyword") {
      this.nextNonSpace();
      switch (item.val) {
        case "end":
          this.expectRightDelim("end");
          return { kind: "end", text: "{{end}}", pos: item.pos };
        case "else": {
          const after = this.peekNonSpace();
          if (after.type === "keyword" && after.val === context) {
            // "{{else if x}}" is sugar for "{{else}}{{if x}}…{{end}}{{end}}"; the caller parses the
            // nested control and lets it consume the shared {{end}}.
            return { kind: "else", text: "{{else}}", pos: item.pos, elseKeyword: context };
          }
          this.expectRightDelim("else");
          return { kind: "else", text: "{{else}}", pos: item.pos };
        }
        case "if":
        case "with":
          return { kind: "node", node: this.control(item.val, pos) };
        default:
          this.fail(
            `action "${item.val}" is not available in agent_path_template: ${REFUSED_ACTIONS[item.val] ?? "not a path construct"}`,
            item.pos,
          );
      }
    }
    const pipe = this.pipeline("command", "rightDelim");
    return { kind: "node", node: { type: "action", pos, pipe } };
  }

  private expectRightDelim(context: string): void {
    const item = this.nextNonSpace();
    if (item.type !== "rightDelim") this.fail(`unexpected ${describe(item)} in ${context}`, item.pos);
  }

  private control(keyword: "if" | "with", pos: number): TemplateNode {
    this.enter();
    const mark = this.vars.length;
    const pipe = this.pipeline(keyword, "rightDelim");
    const list: TemplateNode[] = [];
    let elseList: TemplateNode[] | null = null;
    let current = list;
    for (;;) {
      if (this.peek().type === "eof") this.fail(`unexpected EOF`);
      const r = this.textOrAction(keyword);
      if (r.kind === "node") {
        current.push(r.node);
        continue;
      }
      if (r.kind === "end") break;
      // else
      if (current === elseList) this.fail("expected end; found {{else}}", r.pos);
      elseList = [];
      current = elseList;
      if (r.elseKeyword !== undefined) {
        // Parse the nested control in place; it consumes the {{end}} that closes us both.
        this.nextNonSpace();
        elseList.push(this.control(r.elseKeyword, r.pos));
        break;
      }
    }
    this.vars.length = mark;
    this.depth--;
    return { type: keyword, pos, pipe, list, elseList };
  }

  /** Go's parse.pipeline: optional "$x :=" / "$x =", then commands joined by "|". */
  private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
    this.enter();
    const start = this.peekNonSpace().pos;
    const decl: string[] = [];
    let isAssign = false;
    const v = this.peekNonSpace();
    if (v.type === "variable") {
      const save = this.i;
      this.nextNonSpace();
      const op = this.peekNonSpace();
      if (op.type === "declare" || op.type === "assign") {
        this.nextNonSpace();
        isAssign = op.type === "assign";
        if (isAssign && !this.vars.includes(v.val)) this.fail(`undefined variable "${v.val}"`, v.pos);
        decl.push(v.val);
      } else {
        this.i = save;
      }
    }
    const cmds: CommandNode[] = [];
    for (;;) {
      const item = this.peekNonSpace();
      if (item.type === end) {
        this.nextNonSpace();
        break;
      }
      if (
        [
          "bool",
          "charConstant",
          "dot",
          "field",
          "identifier",
          "number",
          "nil",
          "rawString",
          "string",
          "variable",
          "leftParen",
        ].includes(item.type)
      ) {
        cmds.push(this.command(end));
        continue;
      }
      this.fail(`unexpected ${describe(item)} in ${context}`, item.pos);
    }
    if (cmds.length === 0) this.fail(`missing value for ${context}`, start);
    // Go's checkPipeline: only the first command may be a non-executable literal.
    cmds.forEach((cmd, idx) => {
      const first = cmd.args[0];
      if (idx > 0 && first !== undefined && ["bool", "dot", "nil", "number", "string"].includes(first.type)) {
        this.fail(`non executable command in pipeline stage ${idx + 1}`, first.pos);
      }
    });
    // Declared variables become visible after the pipeline, as in Go.
    if (!isAssign) for (const d of decl) this.vars.push(d);
    this.depth--;
    return { pos: start, isAssign, decl, cmds };
  }

  private command(end: "rightDelim" | "rightParen"): CommandNode {
    const args: ArgNode[] = [];
    const pos = this.peekNonSpace().pos;
    for (;;) {
      this.skipSpace();
      const operand = this.operand();
      if (operand === null) break;
      args.push(operand);
      const item = this.peek();
      if (item.type === "space") continue;
      if (item.type === end || item.type === "pipe") break;
      if (item.type === "rightDelim" || item.type === "rightParen") break;
      this.fail(`unexpected ${describe(item)} in operand`, item.pos);
    }
    if (args.length === 0) this.fail("empty command", pos);
    const after = this.peekNonSpace();
    if (after.type === "pipe") this.nextNonSpace();
    return { pos, args };
  }

  private skipSpace(): void {
    while (this.peek().type === "space") this.next();
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (node === null) return null;
    if (this.peek().type !== "field") return node;
    const fields: string[] = [];
    const chainPos = this.peek().pos;
    while (this.peek().type === "field") fields.push(this.next().val.slice(1));
    switch (node.type) {
      case "field":
        return { type: "field", pos: chainPos, idents: [...node.idents, ...fields] };
      case "variable":
        return { type: "variable", pos: chainPos, idents: [...node.idents, ...fields] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        this.fail(`unexpected . after term "${this.input.slice(node.pos, chainPos)}"`, chainPos);
        break;
      default:
        return { type: "chain", pos: chainPos, node, fields };
    }
    return null;
  }

  private term(): ArgNode | null {
    const item = this.peek();
    switch (item.type) {
      case "identifier": {
        this.next();
        const why = this.options.refusedFunction(item.val);
        if (why !== undefined) {
          this.fail(`function "${item.val}" is not available in agent_path_template: ${why}`, item.pos);
        }
        if (!this.options.isFunction(item.val)) this.fail(`function "${item.val}" not defined`, item.pos);
        return { type: "identifier", pos: item.pos, name: item.val };
      }
      case "dot":
        this.next();
        return { type: "dot", pos: item.pos };
      case "nil":
        this.next();
        return { type: "nil", pos: item.pos };
      case "variable": {
        this.next();
        if (!this.vars.includes(item.val)) this.fail(`undefined variable "${item.val}"`, item.pos);
        return { type: "variable", pos: item.pos, idents: [item.val] };
      }
      case "field":
        this.next();
        return { type: "field", pos: item.pos, idents: [item.val.slice(1)] };
      case "bool":
        this.next();
        return { type: "bool", pos: item.pos, value: item.val === "true" };
      case "charConstant":
      case "number": {
        this.next();
        const num = parseNumber(item.val, item.type === "charConstant");
        if (num === null) this.fail(`illegal number syntax: "${item.val}"`, item.pos);
        return { type: "number", pos: item.pos, num };
      }
      case "leftParen": {
        this.next();
        const pipe = this.pipeline("parenthesized pipeline", "rightParen");
        return { type: "pipe", pos: item.pos, pipe };
      }
      case "string":
      case "rawString": {
        this.next();
        let value: string;
        try {
          value = item.type === "rawString" ? item.val.slice(1, -1).replace(/\r/g, "") : unquoteGo(item.val);
        } catch {
          this.fail(`invalid syntax: ${item.val}`, item.pos);
        }
        return { type: "string", pos: item.pos, text: item.val, value };
      }
      default:
        return null;
    }
  }
}

function describe(item: Item): string {
  switch (item.type) {
    case "eof":
      return "EOF";
    case "rightDelim":
      return '"}}"';
    case "keyword":
      return `<${item.val}>`;
    default:
      return `"${item.val}"`;
  }
}
