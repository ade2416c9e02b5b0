/**
 * Go regexp (RE2 syntax) on top of JavaScript's RegExp, for sprig's regex* functions.
 *
 * SPIRE evaluates these with Go's regexp package. We translate the RE2 syntax that maps 1:1
 * onto JavaScript, and reject what would silently behave differently (Unicode classes,
 * inline flags inside the pattern, octal escapes) or what RE2 itself rejects but JavaScript
 * would accept (back-references, look-around). Go's iteration rules for FindAll, Split and
 * ReplaceAll (empty matches right after a match are skipped; `$1x` names group "1x") are
 * reimplemented because JavaScript's differ.
 *
 * RE2 runs in linear time and JavaScript's backtracking engine does not: a hostile tag value
 * against an unlucky pattern could pin the event loop. Every match therefore runs under a
 * `vm` timeout, which interrupts a runaway regular expression.
 */
import vm from "node:vm";
import { goQuote } from "./go-values";

export class GoRegexpError extends Error {
  override readonly name = "GoRegexpError";
  constructor(
    message: string,
    /** The message without regexp.Compile's prefix (what regexp.MatchString returns). */
    readonly bare: string = message,
  ) {
    super(message);
  }
}

export interface GoRegexp {
  readonly expr: string;
  /** Global (g) regexp; callers set lastIndex. */
  readonly re: RegExp;
}

const MAX_REPEAT = 1000;

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

function syntaxError(code: string, frag: string): never {
  throw new GoRegexpError(`error parsing regexp: ${code}: \`${frag}\``);
}

const escapeJs = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/** Translate an RE2 pattern into JavaScript source and flags, or throw GoRegexpError. */
export function translateGoRegexp(expr: string): { source: string; flags: string } {
  let i = 0;
  let flags = "";
  let dotAll = false;
  // Flags are honoured only as a prefix "(?ims)", where they apply to the whole pattern.
  const lead = /^\(\?([ims]+)\)/.exec(expr);
  if (lead) {
    const set = lead[1] ?? "";
    if (set.includes("i")) flags += "i";
    if (set.includes("m")) flags += "m";
    if (set.includes("s")) dotAll = true;
    i = lead[0].length;
  }
  let out = "";
  // What the next quantifier would apply to: RE2 rejects "*" at the start and "a**".
  let state: "none" | "atom" | "quant" = "none";
  let lazy = false;
  let depth = 0;
  while (i < expr.length) {
    const c = expr[i] ?? "";
    if (c === "\\") {
      const [js, next] = translateEscape(expr, i, false);
      out += js;
      i = next;
      state = "atom";
      continue;
    }
    if (c === "[") {
      const [js, next] = translateClass(expr, i);
      out += js;
      i = next;
      state = "atom";
      continue;
    }
    if (c === ")") {
      if (depth === 0) syntaxError("unexpected )", expr);
      depth--;
    }
    if (c === "(") {
      depth++;
      state = "none";
      if (expr[i + 1] === "?") {
        const rest = expr.slice(i + 2);
        const named = /^P?<([A-Za-z0-9_]+)>/.exec(rest);
        if (rest.startsWith(":")) {
          out += "(?:";
          i += 3;
        } else if (named) {
          out += `(?<${named[1]}>`;
          i += 2 + named[0].length;
        } else if (/^[imsU-]+[:)]/.test(rest)) {
          throw new GoRegexpError(
            `unsupported regexp flags inside the pattern at \`${expr.slice(i)}\`: put (?i), (?m) or (?s) at the very start`,
          );
        } else {
          syntaxError("invalid or unsupported Perl syntax", expr.slice(i, i + 3));
        }
        continue;
      }
      out += "(";
      i++;
      continue;
    }
    if (c === ".") {
      out += dotAll ? "[\\s\\S]" : "[^\\n]";
      i++;
      state = "atom";
      continue;
    }
    if (c === "{") {
      const rep = /^\{(\d+)(,(\d*))?\}/.exec(expr.slice(i));
      if (rep) {
        const min = Number(rep[1]);
        const max = rep[3] === undefined || rep[3] === "" ? min : Number(rep[3]);
        if (min > MAX_REPEAT || max > MAX_REPEAT || (rep[3] !== undefined && rep[3] !== "" && max < min)) {
          syntaxError("invalid repeat count", rep[0]);
        }
        if (state === "none") syntaxError("missing argument to repetition operator", rep[0]);
        if (state === "quant") syntaxError("invalid nested repetition operator", rep[0]);
        state = "quant";
        lazy = false;
        out += rep[0];
        i += rep[0].length;
      } else {
        // RE2 treats a "{" that does not start a repetition as a literal.
        out += "\\{";
        i++;
        state = "atom";
      }
      continue;
    }
    if (c === "*" || c === "+" || c === "?") {
      if (state === "none") syntaxError("missing argument to repetition operator", c);
      if (state === "quant") {
        // One "?" after a quantifier makes it lazy; anything more is RE2's nested repetition.
        if (c !== "?" || lazy) syntaxError("invalid nested repetition operator", expr.slice(i - 1, i + 1));
        lazy = true;
      } else {
        state = "quant";
        lazy = false;
      }
      out += c;
      i++;
      continue;
    }
    state = c === "|" || c === "(" ? "none" : "atom";
    if (c === "}" || c === "]" || c === "/") {
      out += `\\${c}`;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  if (depth > 0) syntaxError("missing closing )", expr);
  try {
    new RegExp(out, `${flags}g`);
  } catch (err) {
    throw new GoRegexpError(`error parsing regexp: ${(err as Error).message}`);
  }
  return { source: out, flags };
}

function translateEscape(expr: string, i: number, inClass: boolean): [string, number] {
  const e = expr[i + 1];
  if (e === undefined) syntaxError("trailing backslash at end of expression", "");
  switch (e) {
    case "A":
      if (inClass) syntaxError("invalid escape sequence", "\\A");
      return ["(?<![\\s\\S])", i + 2];
    case "z":
      if (inClass) syntaxError("invalid escape sequence", "\\z");
      return ["(?![\\s\\S])", i + 2];
    case "b":
    case "B":
      if (inClass) syntaxError("invalid escape sequence", `\\${e}`);
      return [`\\${e}`, i + 2];
    case "d":
    case "D":
    case "w":
    case "W":
      return [`\\${e}`, i + 2];
    case "s":
      // RE2's \s is ASCII-only; JavaScript's includes Unicode spaces and \v.
      return [inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]", i + 2];
    case "S":
      if (inClass) throw new GoRegexpError("\\S inside a character class is not supported");
      return ["[^\\t\\n\\f\\r ]", i + 2];
    case "a":
      return ["\\x07", i + 2];
    case "f":
    case "t":
    case "n":
    case "r":
    case "v":
      return [`\\${e}`, i + 2];
    case "x": {
      const braced = /^\{([0-9a-fA-F]+)\}/.exec(expr.slice(i + 2));
      if (braced) {
        const cp = Number.parseInt(braced[1] ?? "", 16);
        if (cp > 0x7f) throw new GoRegexpError("non-ASCII \\x{…} escapes are not supported");
        return [`\\x${cp.toString(16).padStart(2, "0")}`, i + 2 + braced[0].length];
      }
      const hex = expr.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) syntaxError("invalid escape sequence", `\\x${hex}`);
      if (Number.parseInt(hex, 16) > 0x7f) throw new GoRegexpError("non-ASCII \\x escapes are not supported");
      return [`\\x${hex}`, i + 4];
    }
    case "Q": {
      if (inClass) syntaxError("invalid escape sequence", "\\Q");
      const end = expr.indexOf("\\E", i + 2);
      const lit = end < 0 ? expr.slice(i + 2) : expr.slice(i + 2, end);
      return [escapeJs(lit), end < 0 ? expr.length : end + 2];
    }
    case "p":
    case "P":
      throw new GoRegexpError("Unicode character classes (\\p, \\P) are not supported");
  }
  if (/[0-9]/.test(e)) {
    // RE2 has no back-references; its octal escapes are rare enough to refuse.
    syntaxError("invalid escape sequence", `\\${e}`);
  }
  if (/[!-/:-@[-`{-~]/.test(e)) return [`\\${e}`, i + 2];
  syntaxError("invalid escape sequence", `\\${e}`);
}

function translateClass(expr: string, start: number): [string, number] {
  let i = start + 1;
  let out = "[";
  if (expr[i] === "^") {
    out += "^";
    i++;
  }
  let first = true;
  for (;;) {
    const c = expr[i];
    if (c === undefined) syntaxError("missing closing ]", expr.slice(start));
    if (c === "]" && !first) {
      out += "]";
      return [out, i + 1];
    }
    first = false;
    if (c === "[" && expr[i + 1] === ":") {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(expr.slice(i));
      if (m) {
        const cls = POSIX_CLASSES[m[2] ?? ""];
        if (cls === undefined) syntaxError("invalid character class range", m[0]);
        if (m[1] === "^") throw new GoRegexpError("negated POSIX classes ([:^name:]) are not supported");
        out += cls;
        i += m[0].length;
        continue;
      }
    }
    if (c === "\\") {
      const [js, next] = translateEscape(expr, i, true);
      out += js;
      i = next;
      continue;
    }
    if (c === "]" || c === "[" || c === "/") {
      out += `\\${c}`;
      i++;
      continue;
    }
    out += c;
    i++;
  }
}

/** regexp.Compile's error uses strconv.Quote, which backquotes when it can (CanBackquote). */
function goQuoteForCompile(expr: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CanBackquote refuses control characters.
  if (!/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(expr)) return `\`${expr}\``;
  return goQuote(expr);
}

const cache = new Map<string, GoRegexp>();
const CACHE_LIMIT = 256;

/** Go's regexp.Compile, including its error text shape. */
export function compileGoRegexp(expr: string): GoRegexp {
  const hit = cache.get(expr);
  if (hit) return hit;
  let translated: { source: string; flags: string };
  try {
    translated = translateGoRegexp(expr);
  } catch (err) {
    const bare = (err as Error).message;
    throw new GoRegexpError(`regexp: Compile(${goQuoteForCompile(expr)}): ${bare}`, bare);
  }
  const compiled: GoRegexp = { expr, re: new RegExp(translated.source, `${translated.flags}g`) };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(expr, compiled);
  return compiled;
}

// ---------------------------------------------------------------------------------------
// Bounded execution

const sandbox = vm.createContext({ work: (): unknown => undefined });
const runner = new vm.Script("work()");

export class RegexpTimeoutError extends Error {
  override readonly name = "RegexpTimeoutError";
}

function bounded<T>(timeoutMs: number, fn: () => T): T {
  sandbox.work = fn;
  try {
    return runner.runInContext(sandbox, { timeout: timeoutMs }) as T;
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      throw new RegexpTimeoutError(`regular expression evaluation exceeded ${timeoutMs} ms`);
    }
    throw err;
  } finally {
    sandbox.work = (): unknown => undefined;
  }
}

type Match = RegExpExecArray;

function execAt(r: GoRegexp, s: string, pos: number): Match | null {
  r.re.lastIndex = pos;
  return r.re.exec(s);
}

const runeWidth = (s: string, pos: number): number => {
  const cp = s.codePointAt(pos);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
};

/** Go's allMatches: empty matches right after a previous match are dropped. */
function allMatches(r: GoRegexp, s: string, n: number): Match[] {
  const out: Match[] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length) {
    const m = execAt(r, s, pos);
    if (!m) break;
    const end = m.index + m[0].length;
    let accept = true;
    if (end === pos) {
      if (m.index === prevMatchEnd) accept = false;
      pos += pos < s.length ? runeWidth(s, pos) : 1;
    } else {
      pos = end;
    }
    prevMatchEnd = end;
    if (accept) out.push(m);
  }
  return out;
}

export function goMatchString(r: GoRegexp, s: string, timeoutMs: number): boolean {
  return bounded(timeoutMs, () => execAt(r, s, 0) !== null);
}

export function goFindString(r: GoRegexp, s: string, timeoutMs: number): string {
  return bounded(timeoutMs, () => execAt(r, s, 0)?.[0] ?? "");
}

export function goFindAllString(r: GoRegexp, s: string, n: number, timeoutMs: number): string[] | null {
  return bounded(timeoutMs, () => {
    const ms = allMatches(r, s, n);
    // Go returns nil (printed "[]") when nothing matched.
    return ms.length === 0 ? null : ms.map((m) => m[0]);
  });
}

export function goSplit(r: GoRegexp, s: string, n: number, timeoutMs: number): string[] | null {
  if (n === 0) return null;
  if (r.expr.length > 0 && s.length === 0) return [""];
  return bounded(timeoutMs, () => {
    const matches = allMatches(r, s, n);
    const parts: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of matches) {
      if (n > 0 && parts.length === n - 1) break;
      end = m.index;
      const mEnd = m.index + m[0].length;
      if (mEnd !== 0) parts.push(s.slice(beg, end));
      beg = mEnd;
    }
    if (end !== s.length) parts.push(s.slice(beg));
    return parts;
  });
}

/** Go's Regexp.Expand for ReplaceAllString: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: Match): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf("$", i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string | undefined;
    if (template[i] === "{") {
      const close = /^\{([A-Za-z0-9_]+)\}/.exec(template.slice(i));
      if (close) {
        name = close[1];
        i += close[0].length;
      }
    } else {
      const word = /^[A-Za-z0-9_]+/.exec(template.slice(i));
      if (word) {
        name = word[0];
        i += word[0].length;
      }
    }
    if (name === undefined) {
      // Malformed reference: Go copies the "$" literally.
      out += "$";
      continue;
    }
    if (/^[0-9]+$/.test(name)) {
      const idx = Number(name);
      out += idx < m.length ? (m[idx] ?? "") : "";
    } else {
      out += m.groups?.[name] ?? "";
    }
  }
  return out;
}

export function goReplaceAll(
  r: GoRegexp,
  src: string,
  repl: string,
  literal: boolean,
  timeoutMs: number,
): string {
  return bounded(timeoutMs, () => {
    let out = "";
    let lastMatchEnd = 0;
    let searchPos = 0;
    while (searchPos <= src.length) {
      const m = execAt(r, src, searchPos);
      if (!m) break;
      const a0 = m.index;
      const a1 = m.index + m[0].length;
      out += src.slice(lastMatchEnd, a0);
      // Go: no replacement for an empty match immediately after another match.
      if (a1 > lastMatchEnd || a0 === 0) out += literal ? repl : expand(repl, m);
      lastMatchEnd = a1;
      const width = searchPos < src.length ? runeWidth(src, searchPos) : 1;
      if (searchPos + width > a1) searchPos += width;
      else if (searchPos + 1 > a1) searchPos++;
      else searchPos = a1;
    }
    return out + src.slice(lastMatchEnd);
  });
}

/** Go's regexp.QuoteMeta. */
export function goQuoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}
