/**
 * The functions an agent path template may call: Go text/template's builtins plus the sprig
 * functions on SPIRE's allow-list (pkg/common/agentpathtemplate/template.go), each written
 * to sprig v3.3.0's semantics (the version SPIRE pins), including its quirks: byte-based
 * trunc/substr, `empty` on zero values, b64dec returning the error text as its value,
 * random-order `keys`/`values` (we return insertion order), and map[string]interface{}
 * parameters that refuse SPIRE's map[string]string `.Tags`.
 *
 * Parameters carry Go types so that the executor can apply text/template's argument checks
 * ("wrong type for value; expected int; got string").
 */
import { createHash } from "node:crypto";
import {
  compileGoRegexp,
  GoRegexpError,
  goFindAllString,
  goFindString,
  goMatchString,
  goQuoteMeta,
  goReplaceAll,
  goSplit,
} from "./go-regexp";
import {
  compareGoStrings,
  formatGoValue,
  GoList,
  GoMap,
  type GoValue,
  goDeepEqual,
  goQuote,
  goTypeName,
  sprigEmpty,
  sprigStrval,
} from "./go-values";

export type ParamType = "string" | "int" | "bool" | "any" | "dict";

export interface FuncEnv {
  readonly regexpTimeoutMs: number;
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

// --- helpers ---------------------------------------------------------------------------

const str = (v: GoValue | undefined): string => (typeof v === "string" ? v : "");
const int = (v: GoValue | undefined): number => (typeof v === "bigint" ? Number(v) : 0);
const bool = (v: GoValue | undefined): boolean => v === true;
const dictOf = (v: GoValue | undefined): Map<string, GoValue> =>
  v instanceof GoMap ? v.entries : new Map<string, GoValue>();
const anyList = (items: GoValue[]): GoList => new GoList("any", items);
const strList = (items: string[]): GoList => new GoList("string", items);

function listItems(v: GoValue | undefined, fn: string, verb: string): readonly GoValue[] {
  if (v instanceof GoList) return v.items;
  throw new FuncError(`Cannot ${verb} on type ${goKind(v ?? null)}`.replace("{fn}", fn));
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

function checkString(s: string, env: FuncEnv): string {
  if (Buffer.byteLength(s, "utf8") > env.maxStringBytes) {
    throw new FuncError(`result exceeds ${env.maxStringBytes} bytes`);
  }
  return s;
}

function checkList(items: GoValue[], env: FuncEnv): GoValue[] {
  if (items.length > env.maxListLength) throw new FuncError(`result exceeds ${env.maxListLength} elements`);
  return items;
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
function goReplaceString(s: string, oldS: string, newS: string): string {
  if (oldS === "") return [newS, ...[...s].flatMap((r) => [r, newS])].join("");
  return s.split(oldS).join(newS);
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

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Encode(buf: Buffer): string {
  let out = "";
  for (let i = 0; i < buf.length; i += 5) {
    const chunk = buf.subarray(i, i + 5);
    let bits = 0n;
    for (let j = 0; j < 5; j++) bits = (bits << 8n) | BigInt(chunk[j] ?? 0);
    const chars = Math.ceil((chunk.length * 8) / 5);
    for (let j = 0; j < 8; j++) {
      out += j < chars ? B32[Number((bits >> BigInt(35 - j * 5)) & 31n)] : "=";
    }
  }
  return out;
}

function base32Decode(s: string): string {
  // Go ignores \r and \n; anything else outside the alphabet is a CorruptInputError.
  const clean = s.replace(/[\r\n]/g, "");
  if (clean.length % 8 !== 0) return `illegal base32 data at input byte ${clean.length - (clean.length % 8)}`;
  const bytes: number[] = [];
  for (let i = 0; i < clean.length; i += 8) {
    const block = clean.slice(i, i + 8);
    const pad = block.length - block.replace(/=+$/, "").length;
    if (![0, 1, 3, 4, 6].includes(pad) || (pad > 0 && i + 8 !== clean.length)) {
      return `illegal base32 data at input byte ${i + block.indexOf("=")}`;
    }
    let bits = 0n;
    for (let j = 0; j < 8; j++) {
      const ch = block[j] ?? "=";
      const v = ch === "=" ? 0 : B32.indexOf(ch);
      if (v < 0) return `illegal base32 data at input byte ${i + j}`;
      bits = (bits << 5n) | BigInt(v);
    }
    const n = [5, 4, 0, 3, 2, 0, 1][pad] ?? 5;
    for (let j = 0; j < n; j++) bytes.push(Number((bits >> BigInt(32 - j * 8)) & 255n));
  }
  return Buffer.from(bytes).toString("utf8");
}

function base64Decode(s: string): string {
  const clean = s.replace(/[\r\n]/g, "");
  const bad = /[^A-Za-z0-9+/=]/.exec(clean);
  if (bad) return `illegal base64 data at input byte ${bad.index}`;
  const eq = clean.indexOf("=");
  if (clean.length % 4 !== 0 || (eq >= 0 && (eq < clean.length - 2 || /[^=]/.test(clean.slice(eq))))) {
    const at = eq >= 0 ? eq : clean.length - (clean.length % 4);
    return `illegal base64 data at input byte ${at}`;
  }
  return Buffer.from(clean, "base64").toString("utf8");
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

/** sprig's strslice (toStrings, join, sortAlpha). */
function strslice(v: GoValue): string[] {
  if (v instanceof GoList) return v.items.filter((x) => x !== null).map(sprigStrval);
  if (v === null) return [];
  return [sprigStrval(v)];
}

/** sprig's untilStep. */
function untilStep(start: number, stop: number, step: number, env: FuncEnv): number[] {
  const out: number[] = [];
  const push = (i: number): void => {
    if (out.length >= env.maxListLength) throw new FuncError(`result exceeds ${env.maxListLength} elements`);
    out.push(i);
  };
  if (stop < start) {
    if (step >= 0) return out;
    for (let i = start; i > stop; i += step) push(i);
    return out;
  }
  if (step <= 0) return out;
  for (let i = start; i < stop; i += step) push(i);
  return out;
}

function regexp(expr: string): ReturnType<typeof compileGoRegexp> {
  try {
    return compileGoRegexp(expr);
  } catch (err) {
    throw new FuncError((err as Error).message);
  }
}

// --- fmt -------------------------------------------------------------------------------

/** fmt.Sprint: spaces between operands when neither side is a string. */
function goSprint(args: readonly GoValue[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatGoValue(a, true);
  });
  return out;
}

/** fmt.Sprintf for the verbs a path template plausibly uses; others print Go's %!verb form. */
export function goSprintf(format: string, args: readonly GoValue[]): string {
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
    const len = [...s].length;
    if (len < width) {
      const zero = flagsRaw.includes("0") && !flagsRaw.includes("-") && verb !== "s" && verb !== "q";
      const pad = (zero ? "0" : " ").repeat(width - len);
      s = flagsRaw.includes("-") ? s + pad : zero && /^[+-]/.test(s) ? s[0] + pad + s.slice(1) : pad + s;
    }
    out += s;
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

const errBadComparison = (): FuncError => new FuncError("incompatible types for comparison");
const errBadComparisonType = (): FuncError => new FuncError("invalid type for comparison");

export function goEq(arg1: GoValue, rest: readonly GoValue[]): boolean {
  if (rest.length === 0) throw new FuncError("missing argument for comparison");
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (arg1 !== null && arg !== null) throw errBadComparison();
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
  if (k1 !== k2) throw errBadComparison();
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
      cur = cur.entries.has(idx) ? (cur.entries.get(idx) ?? null) : cur.kind === "tags" ? "" : null;
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

function sliceOp(
  verb: string,
  fn: (items: readonly GoValue[], args: readonly GoValue[]) => GoValue,
): FuncDef {
  return { params: ["any"], call: (a) => fn(listItems(a[0], "", verb), a.slice(1)) };
}

const FIRST_LAST_ETC: Record<string, FuncDef> = {
  first: sliceOp("find first", (l) => (l.length === 0 ? null : (l[0] ?? null))),
  last: sliceOp("find last", (l) => (l.length === 0 ? null : (l[l.length - 1] ?? null))),
  // sprig returns a typed nil slice here, which prints "[]" (unlike first/last's "<no value>").
  rest: sliceOp("find rest", (l) => anyList(l.slice(1))),
  initial: sliceOp("find initial", (l) => anyList(l.slice(0, -1))),
  reverse: sliceOp("find reverse", (l) => anyList([...l].reverse())),
  compact: sliceOp("compact", (l) => anyList(l.filter((x) => !sprigEmpty(x)))),
  uniq: sliceOp("find uniq", (l) => {
    const out: GoValue[] = [];
    for (const x of l) if (!out.some((y) => goDeepEqual(x, y))) out.push(x);
    return anyList(out);
  }),
};

const BUILTINS: Record<string, FuncDef> = {
  and: { params: ["any"], variadic: "any", lazy: true, call: () => null },
  or: { params: ["any"], variadic: "any", lazy: true, call: () => null },
  not: { params: ["any"], call: (a) => sprigEmpty(a[0] ?? null) },
  len: { params: ["any"], call: (a) => goLen(a[0] ?? null) },
  index: { params: ["any"], variadic: "any", call: (a) => goIndex(a[0] ?? null, a.slice(1)) },
  print: { params: [], variadic: "any", call: (a, env) => checkString(goSprint(a), env) },
  println: {
    params: [],
    variadic: "any",
    call: (a, env) => checkString(`${a.map((x) => formatGoValue(x, true)).join(" ")}\n`, env),
  },
  printf: {
    params: ["string"],
    variadic: "any",
    call: (a, env) => checkString(goSprintf(str(a[0]), a.slice(1)), env),
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

const SPRIG: Record<string, FuncDef> = {
  // strings
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
  trim: s1(goTrimSpace),
  upper: s1((s) => s.toUpperCase()),
  lower: s1((s) => s.toLowerCase()),
  title: s1(goTitle),
  untitle: s1((s) => {
    const [first = "", ...rest] = [...s];
    return first.toLowerCase() + rest.join("");
  }),
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
  repeat: {
    params: ["int", "string"],
    call: (a, env) => {
      const n = int(a[0]);
      if (n < 0) throw new FuncError("strings: negative Repeat count");
      if (Buffer.byteLength(str(a[1])) * n > env.maxStringBytes) {
        throw new FuncError(`result exceeds ${env.maxStringBytes} bytes`);
      }
      return str(a[1]).repeat(n);
    },
  },
  trimAll: s2((cut, s) => goTrim(s, cut)),
  trimSuffix: s2((suf, s) => (suf !== "" && s.endsWith(suf) ? s.slice(0, s.length - suf.length) : s)),
  trimPrefix: s2((pre, s) => (s.startsWith(pre) ? s.slice(pre.length) : s)),
  nospace: s1((s) => [...s].filter((c) => !isGoSpace(c)).join("")),
  contains: s2((sub, s) => s.includes(sub)),
  hasPrefix: s2((pre, s) => s.startsWith(pre)),
  hasSuffix: s2((suf, s) => s.endsWith(suf)),
  quote: {
    params: [],
    variadic: "any",
    call: (a, env) =>
      checkString(
        a
          .filter((x) => x !== null)
          .map((x) => goQuote(sprigStrval(x)))
          .join(" "),
        env,
      ),
  },
  squote: {
    params: [],
    variadic: "any",
    call: (a, env) =>
      checkString(
        a
          .filter((x) => x !== null)
          .map((x) => `'${formatGoValue(x, true)}'`)
          .join(" "),
        env,
      ),
  },
  cat: {
    params: [],
    variadic: "any",
    call: (a, env) =>
      checkString(
        a
          .filter((x) => x !== null)
          .map((x) => formatGoValue(x, true))
          .join(" "),
        env,
      ),
  },
  indent: {
    params: ["int", "string"],
    call: (a, env) => {
      const pad = " ".repeat(Math.max(0, Math.min(int(a[0]), env.maxStringBytes)));
      return checkString(pad + str(a[1]).split("\n").join(`\n${pad}`), env);
    },
  },
  nindent: {
    params: ["int", "string"],
    call: (a, env) => {
      const pad = " ".repeat(Math.max(0, Math.min(int(a[0]), env.maxStringBytes)));
      return checkString(`\n${pad}${str(a[1]).split("\n").join(`\n${pad}`)}`, env);
    },
  },
  replace: {
    params: ["string", "string", "string"],
    call: (a, env) => checkString(goReplaceString(str(a[2]), str(a[0]), str(a[1])), env),
  },
  plural: { params: ["string", "string", "int"], call: (a) => (int(a[2]) === 1 ? str(a[0]) : str(a[1])) },
  sha1sum: s1((s) => createHash("sha1").update(s, "utf8").digest("hex")),
  sha256sum: s1((s) => createHash("sha256").update(s, "utf8").digest("hex")),
  adler32sum: s1((s) => String(adler32(utf8(s)))),
  seq: {
    params: [],
    variadic: "int",
    call: (a, env) => {
      const p = a.map(int);
      let nums: number[];
      if (p.length === 0) return "";
      if (p.length === 1) {
        const end = p[0] ?? 0;
        const inc = end < 1 ? -1 : 1;
        nums = untilStep(1, end + inc, inc, env);
      } else if (p.length === 2) {
        const [start = 0, end = 0] = p;
        const step = end < start ? -1 : 1;
        nums = untilStep(start, end + step, step, env);
      } else if (p.length === 3) {
        const [start = 0, step = 0, end = 0] = p;
        let inc = 1;
        if (end < start) {
          inc = -1;
          if (step > 0) return "";
        }
        nums = untilStep(start, end + inc, step, env);
      } else {
        return "";
      }
      return nums.join(" ");
    },
  },
  splitList: {
    params: ["string", "string"],
    call: (a, env) => strList(checkList(goSplitString(str(a[1]), str(a[0])), env) as string[]),
  },
  toStrings: { params: ["any"], call: (a) => strList(strslice(a[0] ?? null)) },
  join: {
    params: ["string", "any"],
    call: (a, env) => checkString(strslice(a[1] ?? null).join(str(a[0])), env),
  },
  sortAlpha: {
    params: ["any"],
    call: (a) => {
      const v = a[0] ?? null;
      if (v instanceof GoList) return strList(strslice(v).sort(compareGoStrings));
      return strList([sprigStrval(v)]);
    },
  },
  // defaults
  default: {
    params: ["any"],
    variadic: "any",
    call: (a) => {
      const given = a.slice(1);
      if (given.length === 0 || sprigEmpty(given[0] ?? null)) return a[0] ?? null;
      return given[0] ?? null;
    },
  },
  empty: { params: ["any"], call: (a) => sprigEmpty(a[0] ?? null) },
  coalesce: { params: [], variadic: "any", call: (a) => a.find((x) => !sprigEmpty(x)) ?? null },
  all: { params: [], variadic: "any", call: (a) => a.every((x) => !sprigEmpty(x)) },
  any: { params: [], variadic: "any", call: (a) => a.some((x) => !sprigEmpty(x)) },
  ternary: { params: ["any", "any", "bool"], call: (a) => (bool(a[2]) ? (a[0] ?? null) : (a[1] ?? null)) },
  // paths (Go's path package, slash-separated)
  base: s1(goPathBase),
  dir: s1(goPathDir),
  clean: s1(goPathClean),
  ext: s1(goPathExt),
  isAbs: { params: ["string"], call: (a) => str(a[0]).startsWith("/") },
  // encodings
  b64enc: s1((s) => utf8(s).toString("base64")),
  b64dec: s1(base64Decode),
  b32enc: s1((s) => base32Encode(utf8(s))),
  b32dec: s1(base32Decode),
  // lists
  list: { params: [], variadic: "any", call: (a, env) => anyList(checkList([...a], env)) },
  tuple: { params: [], variadic: "any", call: (a, env) => anyList(checkList([...a], env)) },
  append: {
    params: ["any", "any"],
    call: (a, env) => anyList(checkList([...listItems(a[0], "", "push"), a[1] ?? null], env)),
  },
  prepend: {
    params: ["any", "any"],
    call: (a, env) => anyList(checkList([a[1] ?? null, ...listItems(a[0], "", "prepend")], env)),
  },
  ...FIRST_LAST_ETC,
  without: {
    params: ["any"],
    variadic: "any",
    call: (a) => {
      const omit = a.slice(1);
      return anyList(listItems(a[0], "", "find without").filter((x) => !omit.some((o) => goDeepEqual(x, o))));
    },
  },
  has: {
    params: ["any", "any"],
    call: (a) => {
      const hay = a[1] ?? null;
      if (hay === null) return false;
      if (!(hay instanceof GoList)) throw new FuncError(`Cannot find has on type ${goKind(hay)}`);
      return hay.items.some((x) => goDeepEqual(a[0] ?? null, x));
    },
  },
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
  concat: {
    params: [],
    variadic: "any",
    call: (a, env) => {
      const out: GoValue[] = [];
      for (const l of a) {
        if (!(l instanceof GoList)) throw new FuncError(`Cannot concat type ${goKind(l)} as list`);
        out.push(...l.items);
      }
      return anyList(checkList(out, env));
    },
  },
  chunk: {
    params: ["int", "any"],
    call: (a, env) => {
      const size = int(a[0]);
      const items = listItems(a[1], "", "chunk");
      if (size <= 0) throw new FuncError("runtime error: makeslice: len out of range");
      const out: GoValue[] = [];
      // sprig: ceil-like chunk count floor((len-1)/size)+1, which is 0 for an empty list.
      const count = Math.floor((items.length - 1) / size) + 1;
      for (let i = 0; i < count; i++) out.push(anyList(items.slice(i * size, i * size + size)));
      return anyList(checkList(out, env));
    },
  },
  // dicts (map[string]interface{} only, like sprig; SPIRE's .Tags is map[string]string)
  dict: {
    params: [],
    variadic: "any",
    call: (a, env) => {
      const m = new Map<string, GoValue>();
      checkList([...a], env);
      for (let i = 0; i < a.length; i += 2) {
        m.set(sprigStrval(a[i] ?? null), i + 1 < a.length ? (a[i + 1] ?? null) : "");
      }
      return new GoMap("dict", m);
    },
  },
  get: {
    params: ["dict", "string"],
    call: (a) => {
      const d = dictOf(a[0]);
      return d.has(str(a[1])) ? (d.get(str(a[1])) ?? null) : "";
    },
  },
  set: {
    params: ["dict", "string", "any"],
    call: (a, env) => {
      if (!(a[0] instanceof GoMap)) throw new FuncError("assignment to entry in nil map");
      a[0].entries.set(str(a[1]), a[2] ?? null);
      checkList([...a[0].entries.keys()], env);
      return a[0];
    },
  },
  unset: {
    params: ["dict", "string"],
    call: (a) => {
      if (a[0] instanceof GoMap) a[0].entries.delete(str(a[1]));
      return a[0] ?? null;
    },
  },
  hasKey: { params: ["dict", "string"], call: (a) => dictOf(a[0]).has(str(a[1])) },
  pluck: {
    params: ["string"],
    variadic: "dict",
    call: (a) => {
      const key = str(a[0]);
      return anyList(
        a
          .slice(1)
          .map(dictOf)
          .filter((d) => d.has(key))
          .map((d) => d.get(key) ?? null),
      );
    },
  },
  keys: {
    params: [],
    variadic: "dict",
    call: (a) => strList(a.flatMap((d) => [...dictOf(d).keys()])),
  },
  pick: {
    params: ["dict"],
    variadic: "string",
    call: (a) => {
      const d = dictOf(a[0]);
      const m = new Map<string, GoValue>();
      for (const k of a.slice(1).map(str)) if (d.has(k)) m.set(k, d.get(k) ?? null);
      return new GoMap("dict", m);
    },
  },
  omit: {
    params: ["dict"],
    variadic: "string",
    call: (a) => {
      const omit = new Set(a.slice(1).map(str));
      return new GoMap("dict", new Map([...dictOf(a[0])].filter(([k]) => !omit.has(k))));
    },
  },
  values: { params: ["dict"], call: (a) => anyList([...dictOf(a[0]).values()]) },
  dig: {
    params: [],
    variadic: "any",
    call: (a) => {
      if (a.length < 3) throw new FuncError("dig needs at least three arguments");
      const last = a[a.length - 1] ?? null;
      if (!(last instanceof GoMap) || last.kind !== "dict") {
        throw new FuncError(
          `interface conversion: interface {} is ${goTypeName(last)}, not map[string]interface {}`,
        );
      }
      const def = a[a.length - 2] ?? null;
      const keys = a.slice(0, -2).map((k) => {
        if (typeof k !== "string") {
          throw new FuncError(`interface conversion: interface {} is ${goTypeName(k)}, not string`);
        }
        return k;
      });
      let cur: GoMap = last;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] ?? "";
        if (!cur.entries.has(k)) return def;
        const step = cur.entries.get(k) ?? null;
        if (i === keys.length - 1) return step;
        if (!(step instanceof GoMap) || step.kind !== "dict") {
          throw new FuncError(
            `interface conversion: interface {} is ${goTypeName(step)}, not map[string]interface {}`,
          );
        }
        cur = step;
      }
      return def;
    },
  },
  fail: {
    params: ["string"],
    call: (a) => {
      throw new FailError(str(a[0]));
    },
  },
  // regular expressions (RE2 semantics, see go-regexp.ts)
  regexMatch: {
    params: ["string", "string"],
    call: (a, env) => {
      try {
        return goMatchString(compileGoRegexp(str(a[0])), str(a[1]), env.regexpTimeoutMs);
      } catch (err) {
        // sprig's regexMatch swallows a compile error and returns false; a timeout is ours.
        if (err instanceof GoRegexpError) return false;
        throw err;
      }
    },
  },
  mustRegexMatch: {
    params: ["string", "string"],
    call: (a, env) => {
      let re: ReturnType<typeof compileGoRegexp>;
      try {
        re = compileGoRegexp(str(a[0]));
      } catch (err) {
        // regexp.MatchString reports the parse error without Compile's prefix.
        throw new FuncError(err instanceof GoRegexpError ? err.bare : String(err));
      }
      return goMatchString(re, str(a[1]), env.regexpTimeoutMs);
    },
  },
  regexFind: {
    params: ["string", "string"],
    call: (a, env) => goFindString(regexp(str(a[0])), str(a[1]), env.regexpTimeoutMs),
  },
  regexFindAll: {
    params: ["string", "string", "int"],
    call: (a, env) => {
      const found = goFindAllString(regexp(str(a[0])), str(a[1]), int(a[2]), env.regexpTimeoutMs);
      return strList(checkList(found ?? [], env) as string[]);
    },
  },
  regexReplaceAll: {
    params: ["string", "string", "string"],
    call: (a, env) =>
      checkString(goReplaceAll(regexp(str(a[0])), str(a[1]), str(a[2]), false, env.regexpTimeoutMs), env),
  },
  regexReplaceAllLiteral: {
    params: ["string", "string", "string"],
    call: (a, env) =>
      checkString(goReplaceAll(regexp(str(a[0])), str(a[1]), str(a[2]), true, env.regexpTimeoutMs), env),
  },
  regexSplit: {
    params: ["string", "string", "int"],
    call: (a, env) => {
      const parts = goSplit(regexp(str(a[0])), str(a[1]), int(a[2]), env.regexpTimeoutMs);
      return strList(checkList(parts ?? [], env) as string[]);
    },
  },
  regexQuoteMeta: s1(goQuoteMeta),
};

// sprig's must* variants differ from the plain ones only in returning an error instead of
// panicking; text/template turns both into the same execution error.
const MUST_ALIASES: Record<string, string> = {
  mustCompact: "compact",
  mustAppend: "append",
  push: "append",
  mustPush: "append",
  mustPrepend: "prepend",
  mustFirst: "first",
  mustRest: "rest",
  mustLast: "last",
  mustInitial: "initial",
  mustReverse: "reverse",
  mustUniq: "uniq",
  mustWithout: "without",
  mustHas: "has",
  mustSlice: "slice",
  mustChunk: "chunk",
  mustRegexFindAll: "regexFindAll",
  mustRegexFind: "regexFind",
  mustRegexReplaceAll: "regexReplaceAll",
  mustRegexReplaceAllLiteral: "regexReplaceAllLiteral",
  mustRegexSplit: "regexSplit",
};

export const TEMPLATE_FUNCS: ReadonlyMap<string, FuncDef> = new Map<string, FuncDef>([
  ...Object.entries(BUILTINS),
  ...Object.entries(SPRIG),
  // Kept out of the object literal: a "toString" property there clashes with Object's.
  ["toString", { params: ["any"], call: (a) => sprigStrval(a[0] ?? null) }],
  ...Object.entries(MUST_ALIASES).map(([alias, target]): [string, FuncDef] => {
    const def = SPRIG[target];
    if (def === undefined) throw new Error(`alias ${alias} -> ${target} missing`);
    return [alias, def];
  }),
]);

const NOT_IMPLEMENTED = "allowed by SPIRE but not implemented by spire-aws-iid; open an issue if you need it";

/**
 * Functions SPIRE allows (or Go's text/template has built in) that we refuse on purpose,
 * each with the reason shown to the operator.
 */
export const UNSUPPORTED_FUNCS: ReadonlyMap<string, string> = new Map([
  [
    "uuidv4",
    "a random value would give the node a different agent ID on every attestation, which defeats trust on first use",
  ],
  ["abbrev", NOT_IMPLEMENTED],
  ["abbrevboth", NOT_IMPLEMENTED],
  ["initials", NOT_IMPLEMENTED],
  ["swapcase", NOT_IMPLEMENTED],
  ["snakecase", NOT_IMPLEMENTED],
  ["camelcase", NOT_IMPLEMENTED],
  ["kebabcase", NOT_IMPLEMENTED],
  ["wrap", NOT_IMPLEMENTED],
  ["wrapWith", NOT_IMPLEMENTED],
  ["merge", NOT_IMPLEMENTED],
  ["mergeOverwrite", NOT_IMPLEMENTED],
  ["mustMerge", NOT_IMPLEMENTED],
  ["mustMergeOverwrite", NOT_IMPLEMENTED],
  ["urlParse", NOT_IMPLEMENTED],
  ["urlJoin", NOT_IMPLEMENTED],
  ["html", "Go's HTML escaping is not implemented; its output is not a valid SPIFFE path anyway"],
  ["js", "Go's JavaScript escaping is not implemented; its output is not a valid SPIFFE path anyway"],
  ["urlquery", "Go's URL query escaping is not implemented; its output is not a valid SPIFFE path anyway"],
  ["call", "templates cannot receive function values"],
]);

/** SPIRE's allow-list (pkg/common/agentpathtemplate/template.go), kept for parity tests. */
export const SPIRE_SPRIG_ALLOW_LIST: readonly string[] = [
  "abbrev",
  "abbrevboth",
  "trunc",
  "trim",
  "upper",
  "lower",
  "title",
  "untitle",
  "substr",
  "repeat",
  "trimAll",
  "trimSuffix",
  "trimPrefix",
  "nospace",
  "initials",
  "swapcase",
  "snakecase",
  "camelcase",
  "kebabcase",
  "wrap",
  "wrapWith",
  "contains",
  "hasPrefix",
  "hasSuffix",
  "quote",
  "squote",
  "cat",
  "indent",
  "nindent",
  "replace",
  "plural",
  "sha1sum",
  "sha256sum",
  "adler32sum",
  "toString",
  "seq",
  "splitList",
  "toStrings",
  "join",
  "sortAlpha",
  "default",
  "empty",
  "coalesce",
  "all",
  "any",
  "compact",
  "mustCompact",
  "ternary",
  "base",
  "dir",
  "clean",
  "ext",
  "isAbs",
  "b64enc",
  "b64dec",
  "b32enc",
  "b32dec",
  "tuple",
  "list",
  "dict",
  "get",
  "set",
  "unset",
  "hasKey",
  "pluck",
  "keys",
  "pick",
  "omit",
  "merge",
  "mergeOverwrite",
  "mustMerge",
  "mustMergeOverwrite",
  "values",
  "append",
  "push",
  "mustAppend",
  "mustPush",
  "prepend",
  "mustPrepend",
  "first",
  "mustFirst",
  "rest",
  "mustRest",
  "last",
  "mustLast",
  "initial",
  "mustInitial",
  "reverse",
  "mustReverse",
  "uniq",
  "mustUniq",
  "without",
  "mustWithout",
  "has",
  "mustHas",
  "slice",
  "mustSlice",
  "concat",
  "dig",
  "chunk",
  "mustChunk",
  "uuidv4",
  "fail",
  "regexMatch",
  "mustRegexMatch",
  "regexFindAll",
  "mustRegexFindAll",
  "regexFind",
  "mustRegexFind",
  "regexReplaceAll",
  "mustRegexReplaceAll",
  "regexReplaceAllLiteral",
  "mustRegexReplaceAllLiteral",
  "regexSplit",
  "mustRegexSplit",
  "regexQuoteMeta",
  "urlParse",
  "urlJoin",
];

/** Go text/template's builtin functions (sprig's `slice` overrides the builtin one). */
export const GO_BUILTIN_FUNCS: readonly string[] = [
  "and",
  "call",
  "html",
  "index",
  "slice",
  "js",
  "len",
  "not",
  "or",
  "print",
  "printf",
  "println",
  "urlquery",
  "eq",
  "ge",
  "gt",
  "le",
  "lt",
  "ne",
];
