/**
 * The functions an agent path template may call: Go text/template's builtins and the part of
 * SPIRE's sprig allow-list (pkg/common/agentpathtemplate/template.go) that can help build a
 * path, in groups below, each with the reason it is here. Everything else SPIRE allows is
 * refused by name at configuration time (REFUSED_FUNCS, with the reason).
 *
 * Deliberate ports, kept to Go's observable behaviour because an agent ID must not change
 * when a server moves between SPIRE's aws_iid and this plugin:
 * - the builtins follow Go 1.25's src/text/template/funcs.go (and, or, not, eq…ge, index,
 *   len) and the fmt subset print/printf use (src/fmt/print.go, format.go);
 * - the sprig functions follow sprig v3.3.0 (strings.go, defaults.go, list.go, regex.go,
 *   crypto.go's hashes, functions.go's path helpers), the version SPIRE pins, including its
 *   quirks: byte-based trunc/substr, `empty` on zero values, `first` of an empty list printing
 *   "<no value>".
 *
 * Parameters carry Go types so that the executor can apply text/template's argument checks
 * ("wrong type for value; expected int; got string").
 */
import { createHash } from "node:crypto";
import { compareGoStrings, goQuote } from "../common/go-strings";
import type * as GoRegexps from "./regexp";
import type { GoRegexp } from "./regexp";
import { formatGoValue, GoList, GoMap, type GoValue, goTruth, goTypeName } from "./values";

export type ParamType = "string" | "int" | "bool" | "any";

export interface FuncEnv {
  readonly maxStringBytes: number;
  readonly maxListLength: number;
}

export interface FuncDef {
  readonly params: readonly ParamType[];
  readonly variadic?: ParamType;
  /** and/or: arguments are evaluated lazily by the executor. */
  readonly lazy?: boolean;
  readonly call: (args: readonly GoValue[], env: FuncEnv) => GoValue;
}

/** An error a function returns (or a panic it raises) in Go: "error calling <fn>: <msg>". */
export class FuncError extends Error {
  override readonly name = "FuncError";
}

/** Raised by sprig's `fail`: an operator-written rejection, not a template bug. */
export class FailError extends FuncError {}

/** A result over the string or list bound: the node's data made it too big. */
export class FuncLimitError extends FuncError {}

// --- helpers ---------------------------------------------------------------------------

const str = (v: GoValue | undefined): string => (typeof v === "string" ? v : "");
const int = (v: GoValue | undefined): number => (typeof v === "bigint" ? Number(v) : 0);
const bool = (v: GoValue | undefined): boolean => v === true;
const anyList = (items: GoValue[]): GoList => new GoList("any", items);
const strList = (items: string[]): GoList => new GoList("string", items);

function listItems(v: GoValue | undefined, verb: string): readonly GoValue[] {
  if (v instanceof GoList) return v.items;
  throw new FuncError(`Cannot ${verb} on type ${goKind(v ?? null)}`);
}

/** reflect.Kind names, as sprig's "Cannot … on type <kind>" messages print them. */
function goKind(v: GoValue): string {
  if (v === null) return "invalid";
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float64";
  if (v instanceof GoList) return "slice";
  if (v instanceof GoMap) return "map";
  if (typeof v === "object") return "struct";
  return typeof v === "boolean" ? "bool" : "string";
}

const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

const stringLimit = (env: FuncEnv): FuncLimitError =>
  new FuncLimitError(`result exceeds ${env.maxStringBytes} bytes`);

function checkString(s: string, env: FuncEnv): string {
  if (Buffer.byteLength(s, "utf8") > env.maxStringBytes) throw stringLimit(env);
  return s;
}

function checkList(items: GoValue[], env: FuncEnv): GoValue[] {
  if (items.length > env.maxListLength) {
    throw new FuncLimitError(`result exceeds ${env.maxListLength} elements`);
  }
  return items;
}

/** parts.join(sep), refused before it is built when it would exceed the string bound. */
function joinBounded(parts: readonly string[], sep: string, env: FuncEnv): string {
  let units = sep.length * Math.max(0, parts.length - 1);
  for (const p of parts) units += p.length;
  // UTF-16 units never exceed UTF-8 bytes, so this refuses nothing checkString would accept.
  if (units > env.maxStringBytes) throw stringLimit(env);
  return checkString(parts.join(sep), env);
}

/** Go's unicode.IsSpace. */
const isGoSpace = (c: string): boolean =>
  /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/.test(c);

function goTrimSpace(s: string): string {
  const runes = [...s];
  let a = 0;
  let b = runes.length;
  while (a < b && isGoSpace(runes[a] ?? "")) a++;
  while (b > a && isGoSpace(runes[b - 1] ?? "")) b--;
  return runes.slice(a, b).join("");
}

/** strings.Trim(s, cutset). */
function goTrim(s: string, cutset: string): string {
  const cut = new Set([...cutset]);
  const runes = [...s];
  let a = 0;
  let b = runes.length;
  while (a < b && cut.has(runes[a] ?? "")) a++;
  while (b > a && cut.has(runes[b - 1] ?? "")) b--;
  return runes.slice(a, b).join("");
}

/** strings.Replace(s, old, new, -1), including Go's rule for an empty `old`. */
function goReplaceString(s: string, oldS: string, newS: string, env: FuncEnv): string {
  if (oldS === "") return joinBounded(["", ...s, ""], newS, env);
  return joinBounded(s.split(oldS), newS, env);
}

/** strings.Split: an empty separator splits into UTF-8 sequences (runes). */
function goSplitString(s: string, sep: string): string[] {
  if (sep === "") return [...s];
  return s.split(sep);
}

/** Go's strings.Title: upper-case letters that follow a separator. */
function goTitle(s: string): string {
  let prev = " ";
  let out = "";
  for (const r of s) {
    out += isTitleSeparator(prev) ? r.toUpperCase() : r;
    prev = r;
  }
  return out;
}

function isTitleSeparator(r: string): boolean {
  const cp = r.codePointAt(0) ?? 0;
  if (cp <= 0x7f) {
    if (/[0-9A-Za-z_]/.test(r)) return false;
    return true;
  }
  if (/^[\p{L}\p{Nd}]$/u.test(r)) return false;
  return isGoSpace(r);
}

/** Slice a string by UTF-8 byte offsets, as Go's s[a:b] does, with Go's panic text. */
function byteSlice(s: string, start: number, end?: number): string {
  const b = utf8(s);
  const e = end ?? b.length;
  if (start < 0 || e > b.length || start > e) {
    throw new FuncError(
      end === undefined
        ? `runtime error: slice bounds out of range [${start}:${b.length}]`
        : e > b.length
          ? `runtime error: slice bounds out of range [:${e}] with length ${b.length}`
          : `runtime error: slice bounds out of range [${start}:${e}]`,
    );
  }
  return b.subarray(start, e).toString("utf8");
}

/** Go's path.Clean. */
export function goPathClean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

function goPathBase(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

function goPathDir(p: string): string {
  return goPathClean(p.slice(0, p.lastIndexOf("/") + 1));
}

function goPathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) if (p[i] === ".") return p.slice(i);
  return "";
}

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of buf) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a) >>> 0;
}

/** spf13/cast.ToInt, which sprig's slice uses for its indices. */
function castToInt(v: GoValue | undefined): number {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") {
    const t = v.replace(/\.0*$/, "");
    if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
    if (/^[+-]?0[0-7]+$/.test(t)) return Number.parseInt(t, 8);
    return /^[+-]?[0-9]+$/.test(t) ? Number.parseInt(t, 10) : 0;
  }
  return 0;
}

/** sprig's strslice (join). */
function strslice(v: GoValue): string[] {
  if (v instanceof GoList) return v.items.filter((x) => x !== null).map((x) => formatGoValue(x, true));
  if (v === null) return [];
  return [formatGoValue(v, true)];
}

function regexp(expr: string): GoRegexp {
  try {
    return rx().compileGoRegexp(expr);
  } catch (err) {
    throw new FuncError((err as Error).message);
  }
}

// --- fmt -------------------------------------------------------------------------------

/** fmt.Sprint: spaces between operands when neither side is a string. */
function goSprint(args: readonly GoValue[], env: FuncEnv): string {
  const parts = args.map((a, i) =>
    i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string"
      ? ` ${formatGoValue(a, true)}`
      : formatGoValue(a, true),
  );
  return joinBounded(parts, "", env);
}

/** fmt.Sprintf for the verbs a path template plausibly uses; others print Go's %!verb form. */
export function goSprintf(format: string, args: readonly GoValue[], env: FuncEnv): string {
  let out = "";
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    const spec = /^%([-+# 0]*)(\d*)(?:\.(\d*))?([a-zA-Z%])?/.exec(format.slice(pct));
    if (!spec) break;
    i = pct + spec[0].length;
    const [, flagsRaw = "", widthRaw = "", precRaw, verb] = spec;
    if (verb === undefined) {
      out += "%!(NOVERB)";
      continue;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++] ?? null;
    let s: string | undefined;
    const prec = precRaw === undefined ? undefined : Number(precRaw || "0");
    switch (verb) {
      case "v":
        s = formatGoValue(arg, true);
        break;
      case "s":
        if (typeof arg === "string") s = prec === undefined ? arg : [...arg].slice(0, prec).join("");
        else if (arg instanceof GoList && arg.elem === "string") s = formatGoValue(arg, true);
        break;
      case "q":
        if (typeof arg === "string") s = goQuote(arg);
        break;
      case "d":
        if (typeof arg === "bigint") s = flagsRaw.includes("+") && arg >= 0n ? `+${arg}` : arg.toString();
        break;
      case "t":
        if (typeof arg === "boolean") s = String(arg);
        break;
      case "x":
      case "X":
        if (typeof arg === "bigint") s = arg < 0n ? `-${(-arg).toString(16)}` : arg.toString(16);
        else if (typeof arg === "string") s = utf8(arg).toString("hex");
        if (s !== undefined && verb === "X") s = s.toUpperCase();
        break;
    }
    if (s === undefined) {
      out += `%!${verb}(${goTypeName(arg)}=${formatGoValue(arg, true)})`;
      continue;
    }
    const width = widthRaw === "" ? 0 : Number(widthRaw);
    if (width > env.maxStringBytes) throw stringLimit(env);
    const len = [...s].length;
    if (len < width) {
      const zero = flagsRaw.includes("0") && !flagsRaw.includes("-") && verb !== "s" && verb !== "q";
      const pad = (zero ? "0" : " ").repeat(width - len);
      s = flagsRaw.includes("-") ? s + pad : zero && /^[+-]/.test(s) ? s[0] + pad + s.slice(1) : pad + s;
    }
    out += s;
    if (out.length > env.maxStringBytes) throw stringLimit(env);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${formatGoValue(a, true)}`)
      .join(", ")})`;
  }
  return out;
}

// --- comparison (text/template funcs.go) -----------------------------------------------

type BasicKind = "bool" | "int" | "float" | "string" | "invalid";

function basicKind(v: GoValue): BasicKind {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "string";
    default:
      return "invalid";
  }
}

const errBadComparison = (a: GoValue, b: GoValue): FuncError =>
  new FuncError(`incompatible types for comparison: ${goTypeName(a)} and ${goTypeName(b)}`);
const errBadComparisonType = (): FuncError => new FuncError("invalid type for comparison");

export function goEq(arg1: GoValue, rest: readonly GoValue[]): boolean {
  if (rest.length === 0) throw new FuncError("missing argument for comparison");
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (arg1 !== null && arg !== null) throw errBadComparison(arg1, arg);
    } else if (k1 === "invalid") {
      if ((arg1 !== null && typeof arg1 === "object") || (arg !== null && typeof arg === "object")) {
        if (arg1 !== null && arg !== null) {
          throw new FuncError(`non-comparable type ${formatGoValue(arg, true)}: ${goTypeName(arg)}`);
        }
      }
      truth = arg1 === null && arg === null;
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

export function goLt(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === "invalid" || k2 === "invalid") throw errBadComparisonType();
  if (k1 !== k2) throw errBadComparison(a, b);
  if (k1 === "bool") throw errBadComparisonType();
  if (k1 === "string") return compareGoStrings(a as string, b as string) < 0;
  return (a as bigint | number) < (b as bigint | number);
}

// --- index / len / slice ---------------------------------------------------------------

function goIndex(item: GoValue, indexes: readonly GoValue[]): GoValue {
  let cur = item;
  for (const idx of indexes) {
    if (cur === null) throw new FuncError("index of untyped nil");
    if (cur instanceof GoMap) {
      if (typeof idx !== "string") {
        throw new FuncError(`value has type ${goTypeName(idx)}; should be string`);
      }
      // text/template's index returns the zero value for a missing key (missingkey does not apply).
      cur = cur.entries.get(idx) ?? "";
      continue;
    }
    if (cur instanceof GoList || typeof cur === "string") {
      if (typeof idx !== "bigint")
        throw new FuncError(`cannot index slice/array with type ${goTypeName(idx)}`);
      const len = cur instanceof GoList ? cur.items.length : utf8(cur).length;
      if (idx < 0n || idx >= BigInt(len)) throw new FuncError(`index out of range: ${idx}`);
      cur = cur instanceof GoList ? (cur.items[Number(idx)] ?? null) : BigInt(utf8(cur)[Number(idx)] ?? 0);
      continue;
    }
    throw new FuncError(`can't index item of type ${goTypeName(cur)}`);
  }
  return cur;
}

function goLen(item: GoValue): GoValue {
  if (typeof item === "string") return BigInt(utf8(item).length);
  if (item instanceof GoList) return BigInt(item.items.length);
  if (item instanceof GoMap) return BigInt(item.entries.size);
  if (item === null) throw new FuncError("len of nil pointer");
  throw new FuncError(`len of type ${goTypeName(item)}`);
}

// --- the table -------------------------------------------------------------------------

const s1 = (fn: (s: string) => string): FuncDef => ({
  params: ["string"],
  call: (a, env) => checkString(fn(str(a[0])), env),
});
const s2 = (fn: (a: string, b: string) => GoValue): FuncDef => ({
  params: ["string", "string"],
  call: (a) => fn(str(a[0]), str(a[1])),
});
const listOp = (verb: string, fn: (items: readonly GoValue[]) => GoValue): FuncDef => ({
  params: ["any"],
  call: (a) => fn(listItems(a[0], verb)),
});

/** The same function under its sprig must* name (see MUST_FORMS). */
function withMustForms(table: Record<string, FuncDef>): [string, FuncDef][] {
  return Object.entries(table).flatMap(([name, def]): [string, FuncDef][] =>
    MUST_FORMS.has(name)
      ? [
          [name, def],
          [`must${name[0]?.toUpperCase()}${name.slice(1)}`, def],
        ]
      : [[name, def]],
  );
}

// sprig's must* forms differ from the plain ones only in returning an error instead of
// panicking; text/template turns both into the same execution error.
const MUST_FORMS = new Set([
  "first",
  "last",
  "rest",
  "initial",
  "reverse",
  "slice",
  "compact",
  "regexFind",
  "regexFindAll",
  "regexReplaceAll",
  "regexReplaceAllLiteral",
  "regexSplit",
]);

/**
 * Go text/template's builtins (funcs.go): conditions, comparison, index/len and fmt's
 * formatting. Every Go template has them, SPIRE's included.
 */
const BUILTINS: Record<string, FuncDef> = {
  and: { params: ["any"], variadic: "any", lazy: true, call: () => null },
  or: { params: ["any"], variadic: "any", lazy: true, call: () => null },
  not: { params: ["any"], call: (a) => !goTruth(a[0] ?? null) },
  len: { params: ["any"], call: (a) => goLen(a[0] ?? null) },
  index: { params: ["any"], variadic: "any", call: (a) => goIndex(a[0] ?? null, a.slice(1)) },
  print: { params: [], variadic: "any", call: (a, env) => checkString(goSprint(a, env), env) },
  printf: {
    params: ["string"],
    variadic: "any",
    call: (a, env) => checkString(goSprintf(str(a[0]), a.slice(1), env), env),
  },
  eq: { params: ["any"], variadic: "any", call: (a) => goEq(a[0] ?? null, a.slice(1)) },
  ne: { params: ["any", "any"], call: (a) => !goEq(a[0] ?? null, [a[1] ?? null]) },
  lt: { params: ["any", "any"], call: (a) => goLt(a[0] ?? null, a[1] ?? null) },
  le: {
    params: ["any", "any"],
    call: (a) => goLt(a[0] ?? null, a[1] ?? null) || goEq(a[0] ?? null, [a[1] ?? null]),
  },
  gt: {
    params: ["any", "any"],
    call: (a) => !(goLt(a[0] ?? null, a[1] ?? null) || goEq(a[0] ?? null, [a[1] ?? null])),
  },
  ge: { params: ["any", "any"], call: (a) => !goLt(a[0] ?? null, a[1] ?? null) },
};

/**
 * Strings: turning a tag value or an ID into path segments is what path templates do (SPIRE
 * added sprig for these, spiffe/spire#5575: contains, hasPrefix, trimPrefix, cat, replace…).
 * sprig v3.3.0's strings.go; trunc and substr count bytes, as sprig does.
 */
const STRINGS: Record<string, FuncDef> = {
  trunc: {
    params: ["int", "string"],
    call: (a) => {
      const c = int(a[0]);
      const b = utf8(str(a[1]));
      if (c < 0 && b.length + c > 0) return b.subarray(b.length + c).toString("utf8");
      if (c >= 0 && b.length > c) return b.subarray(0, c).toString("utf8");
      return str(a[1]);
    },
  },
  substr: {
    params: ["int", "int", "string"],
    call: (a) => {
      const start = int(a[0]);
      const end = int(a[1]);
      const s = str(a[2]);
      if (start < 0) return byteSlice(s, 0, end);
      if (end < 0 || end > utf8(s).length) return byteSlice(s, start);
      return byteSlice(s, start, end);
    },
  },
  trim: s1(goTrimSpace),
  trimAll: s2((cut, s) => goTrim(s, cut)),
  trimSuffix: s2((suf, s) => (suf !== "" && s.endsWith(suf) ? s.slice(0, s.length - suf.length) : s)),
  trimPrefix: s2((pre, s) => (s.startsWith(pre) ? s.slice(pre.length) : s)),
  upper: s1((s) => s.toUpperCase()),
  lower: s1((s) => s.toLowerCase()),
  title: s1(goTitle),
  untitle: s1((s) => {
    const [first = "", ...rest] = [...s];
    return first.toLowerCase() + rest.join("");
  }),
  nospace: s1((s) => [...s].filter((c) => !isGoSpace(c)).join("")),
  replace: {
    params: ["string", "string", "string"],
    call: (a, env) => goReplaceString(str(a[2]), str(a[0]), str(a[1]), env),
  },
  contains: s2((sub, s) => s.includes(sub)),
  hasPrefix: s2((pre, s) => s.startsWith(pre)),
  hasSuffix: s2((suf, s) => s.endsWith(suf)),
  cat: {
    params: [],
    variadic: "any",
    call: (a, env) =>
      joinBounded(
        a.filter((x) => x !== null).map((x) => formatGoValue(x, true)),
        " ",
        env,
      ),
  },
};

/**
 * Defaults and conditions: a fallback for a tag that may be absent, or a `fail` that rejects
 * a node whose data does not fit (sprig's defaults.go).
 */
const DEFAULTS: Record<string, FuncDef> = {
  default: {
    params: ["any"],
    variadic: "any",
    call: (a) => {
      const given = a.slice(1);
      if (given.length === 0 || !goTruth(given[0] ?? null)) return a[0] ?? null;
      return given[0] ?? null;
    },
  },
  empty: { params: ["any"], call: (a) => !goTruth(a[0] ?? null) },
  coalesce: { params: [], variadic: "any", call: (a) => a.find((x) => goTruth(x)) ?? null },
  all: { params: [], variadic: "any", call: (a) => a.every((x) => goTruth(x)) },
  any: { params: [], variadic: "any", call: (a) => a.some((x) => goTruth(x)) },
  ternary: { params: ["any", "any", "bool"], call: (a) => (bool(a[2]) ? (a[0] ?? null) : (a[1] ?? null)) },
  fail: {
    params: ["string"],
    call: (a) => {
      throw new FailError(str(a[0]));
    },
  },
};

/** Hashes: a short, stable, valid segment from any value (`sha256sum .Tags.x | trunc 16`). */
const HASHES: Record<string, FuncDef> = {
  sha1sum: s1((s) => createHash("sha1").update(s, "utf8").digest("hex")),
  sha256sum: s1((s) => createHash("sha256").update(s, "utf8").digest("hex")),
  adler32sum: s1((s) => String(adler32(utf8(s)))),
};

/** Slash-separated paths (Go's path package): a tag that holds a path, the path itself. */
const PATHS: Record<string, FuncDef> = {
  base: s1(goPathBase),
  dir: s1(goPathDir),
  clean: s1(goPathClean),
  ext: s1(goPathExt),
  isAbs: { params: ["string"], call: (a) => str(a[0]).startsWith("/") },
};

/**
 * Picking parts of a delimited value (`splitList "." .Tags.fqdn | first`): split, choose,
 * join. Nothing builds a collection from scratch; sprig v3.3.0's list.go.
 */
const PARTS: Record<string, FuncDef> = {
  splitList: {
    params: ["string", "string"],
    call: (a, env) => strList(checkList(goSplitString(str(a[1]), str(a[0])), env) as string[]),
  },
  join: {
    params: ["string", "any"],
    call: (a, env) => joinBounded(strslice(a[1] ?? null), str(a[0]), env),
  },
  first: listOp("find first", (l) => (l.length === 0 ? null : (l[0] ?? null))),
  last: listOp("find last", (l) => (l.length === 0 ? null : (l[l.length - 1] ?? null))),
  // sprig returns a typed nil slice here, which prints "[]" (unlike first/last's "<no value>").
  rest: listOp("find rest", (l) => anyList(l.slice(1))),
  initial: listOp("find initial", (l) => anyList(l.slice(0, -1))),
  reverse: listOp("find reverse", (l) => anyList([...l].reverse())),
  compact: listOp("compact", (l) => anyList(l.filter((x) => goTruth(x)))),
  slice: {
    params: ["any"],
    variadic: "any",
    call: (a) => {
      const list = a[0] ?? null;
      if (!(list instanceof GoList)) {
        throw new FuncError(`list should be type of slice or array but ${goKind(list)}`);
      }
      const l = list.items.length;
      if (l === 0) return null;
      const start = a.length > 1 ? castToInt(a[1]) : 0;
      const end = a.length > 2 ? castToInt(a[2]) : l;
      if (start < 0 || end > l || start > end) {
        throw new FuncError("reflect.Value.Slice: slice index out of bounds");
      }
      return new GoList(list.elem, list.items.slice(start, end));
    },
  },
};

/**
 * The regex functions' engine (regexp.ts on re2js). Loading it costs 5-15 ms of CPU, so a
 * plugin start pays for it only when its template calls a regex function: Configure awaits
 * loadRegexFunctions() first (index.ts, prepareTemplateFunctions).
 */
let goRegexps: typeof GoRegexps | undefined;

export async function loadRegexFunctions(): Promise<void> {
  goRegexps ??= await import("./regexp");
}

export function regexFunctionsLoaded(): boolean {
  return goRegexps !== undefined;
}

function rx(): typeof GoRegexps {
  if (goRegexps === undefined) throw new Error("a regex function ran before loadRegexFunctions()");
  return goRegexps;
}

function regexReplace(a: readonly GoValue[], literal: boolean, env: FuncEnv): string {
  const out = rx().goReplaceAll(regexp(str(a[0])), str(a[1]), str(a[2]), literal, env.maxStringBytes);
  if (out === null) throw stringLimit(env);
  return checkString(out, env);
}

/** Regular expressions with Go's RE2 semantics (regexp.ts), sprig v3.3.0's regex.go. */
const REGEXPS: Record<string, FuncDef> = {
  regexMatch: {
    params: ["string", "string"],
    call: (a) => {
      try {
        return rx().goMatchString(rx().compileGoRegexp(str(a[0])), str(a[1]));
      } catch (err) {
        // sprig's regexMatch swallows a compile error and returns false.
        if (err instanceof rx().GoRegexpError) return false;
        throw err;
      }
    },
  },
  mustRegexMatch: {
    params: ["string", "string"],
    call: (a) => {
      let re: GoRegexp;
      try {
        re = rx().compileGoRegexp(str(a[0]));
      } catch (err) {
        // regexp.MatchString reports the parse error without Compile's prefix.
        throw new FuncError(err instanceof rx().GoRegexpError ? err.bare : String(err));
      }
      return rx().goMatchString(re, str(a[1]));
    },
  },
  regexFind: { params: ["string", "string"], call: (a) => rx().goFindString(regexp(str(a[0])), str(a[1])) },
  regexFindAll: {
    params: ["string", "string", "int"],
    call: (a, env) =>
      strList(checkList(rx().goFindAllString(regexp(str(a[0])), str(a[1]), int(a[2])), env) as string[]),
  },
  regexReplaceAll: {
    params: ["string", "string", "string"],
    call: (a, env) => regexReplace(a, false, env),
  },
  regexReplaceAllLiteral: {
    params: ["string", "string", "string"],
    call: (a, env) => regexReplace(a, true, env),
  },
  regexSplit: {
    params: ["string", "string", "int"],
    call: (a, env) =>
      strList(checkList(rx().goSplit(regexp(str(a[0])), str(a[1]), int(a[2])), env) as string[]),
  },
  regexQuoteMeta: s1((s) => rx().goQuoteMeta(s)),
};

/** The functions that need loadRegexFunctions() first, must* forms included. */
export const REGEX_FUNCS: ReadonlySet<string> = new Set(withMustForms(REGEXPS).map(([name]) => name));

export const TEMPLATE_FUNCS: ReadonlyMap<string, FuncDef> = new Map<string, FuncDef>([
  ...Object.entries(BUILTINS),
  ...withMustForms({ ...STRINGS, ...DEFAULTS, ...HASHES, ...PATHS, ...PARTS, ...REGEXPS }),
  // Kept out of the object literals: a "toString" property there clashes with Object's.
  ["toString", { params: ["any"], call: (a) => formatGoValue(a[0] ?? null, true) }],
]);

/** One refusal entry per space-separated name. */
const refuse = (names: string, reason: string): [string, string][] =>
  names.split(" ").map((n) => [n, reason]);
const NO_COLLECTIONS =
  "a path template has strings and the .Tags map to work with, and no range to walk a collection; split, pick and join parts with splitList, first, last, slice and join";
const NOT_PATH_TEXT = (what: string): string =>
  `its output always contains ${what}, which a SPIFFE path does not allow`;
const NOT_IMPLEMENTED = (instead: string): string => `not implemented; ${instead} do the same for a path`;

/**
 * Functions SPIRE's agent_path_template allows (or Go's text/template has built in) that we
 * refuse at configuration time, each with the reason the operator sees. docs/parity.md and
 * docs/selectors.md list them.
 */
export const REFUSED_FUNCS: ReadonlyMap<string, string> = new Map([
  [
    "uuidv4",
    "a random value would give the node a different agent ID on every attestation, which defeats trust on first use",
  ],
  ...refuse("quote squote", NOT_PATH_TEXT("quotes")),
  ...refuse("indent nindent", NOT_PATH_TEXT("spaces or a newline")),
  ["println", NOT_PATH_TEXT("a newline")],
  ...refuse(
    "b64enc b64dec b32enc b32dec",
    "base64 and base32 text holds '+', '/' and '=', which a SPIFFE path does not allow; for a short stable segment use sha256sum | trunc",
  ),
  ...refuse(
    "repeat seq",
    "it generates text instead of transforming the node's data; a path has no use for it",
  ),
  ["plural", "it picks an English plural from a count; no template data is a count"],
  ...refuse(
    "list tuple dict get set unset hasKey pluck keys pick omit values dig merge mergeOverwrite mustMerge mustMergeOverwrite append push mustAppend mustPush prepend mustPrepend uniq mustUniq without mustWithout has mustHas concat chunk mustChunk toStrings sortAlpha",
    NO_COLLECTIONS,
  ),
  ...refuse("abbrev abbrevboth wrap wrapWith initials", NOT_IMPLEMENTED("trunc, substr and regexReplaceAll")),
  ...refuse("swapcase snakecase camelcase kebabcase", NOT_IMPLEMENTED("lower, upper and regexReplaceAll")),
  ...refuse("urlParse urlJoin", "no template data is a URL"),
  ...refuse("html js urlquery", "escaping for HTML, JavaScript or URLs does not make a valid SPIFFE path"),
  ["call", "templates cannot receive function values"],
]);
