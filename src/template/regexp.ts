/**
 * Go's regexp package for sprig's regex* functions, on re2js (a JavaScript port of RE2, the
 * engine Go's regexp implements): the same syntax, the same leftmost-first matches, the same
 * parse errors, and linear-time matching, so a hostile tag value cannot stall the event loop
 * whatever the pattern.
 *
 * re2js answers "where is the next match from position p"; the loops that turn those answers
 * into FindAll, Split, ReplaceAll and Expand results are Go's own rules, which differ from
 * Java's and JavaScript's (an empty match right after a match is skipped; `$1x` names group
 * "1x"). They are deliberate ports of Go 1.25's src/regexp/regexp.go (allMatches, Split,
 * replaceAll, expand, extract), the toolchain SPIRE v1.13.3 builds with.
 *
 * Positions are UTF-16 indexes into JavaScript strings; Go's are UTF-8 byte offsets. Only the
 * substrings are visible to a template, and they are the same either way.
 */
import { type Matcher, RE2JS, RE2JSSyntaxException } from "re2js";
import { goQuote } from "../common/go-strings";

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
  readonly re: RE2JS;
}

/** regexp.Compile's error uses strconv.Quote, which backquotes when it can (CanBackquote). */
function quoteForCompile(expr: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CanBackquote refuses control characters.
  if (!/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(expr)) return `\`${expr}\``;
  return goQuote(expr);
}

const cache = new Map<string, GoRegexp>();
const CACHE_LIMIT = 256;

/** Go's regexp.Compile (Perl syntax, as sprig uses), including its error text. */
export function compileGoRegexp(expr: string): GoRegexp {
  const hit = cache.get(expr);
  if (hit) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(expr);
  } catch (err) {
    // re2js reports parse errors in Go's words: "error parsing regexp: <code>: `<arg>`".
    const bare = err instanceof RE2JSSyntaxException ? err.message : `error parsing regexp: ${String(err)}`;
    throw new GoRegexpError(`regexp: Compile(${quoteForCompile(expr)}): ${bare}`, bare);
  }
  const compiled: GoRegexp = { expr, re };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(expr, compiled);
  return compiled;
}

/** A match: [start, end] of the whole match and of each group (-1 when a group did not take part). */
type Match = readonly number[];

function matchAt(m: Matcher, groups: number, pos: number): Match | null {
  if (!m.find(pos)) return null;
  const out: number[] = [];
  for (let g = 0; g <= groups; g++) out.push(m.start(g), m.end(g));
  return out;
}

const runeWidth = (s: string, pos: number): number => {
  const cp = s.codePointAt(pos);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
};

/** Go's allMatches: successive matches; an empty match right after a match is dropped. */
function allMatches(r: GoRegexp, s: string, n: number, groups = 0): Match[] {
  const m = r.re.matcher(s);
  const out: Match[] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length) {
    const match = matchAt(m, groups, pos);
    if (match === null) break;
    const [start = 0, end = 0] = match;
    let accept = true;
    if (end === pos) {
      if (start === prevMatchEnd) accept = false;
      pos += pos < s.length ? runeWidth(s, pos) : 1;
    } else {
      pos = end;
    }
    prevMatchEnd = end;
    if (accept) out.push(match);
  }
  return out;
}

export function goMatchString(r: GoRegexp, s: string): boolean {
  return r.re.matcher(s).find(0);
}

export function goFindString(r: GoRegexp, s: string): string {
  const m = r.re.matcher(s);
  return m.find(0) ? s.slice(m.start(), m.end()) : "";
}

/** FindAllString; Go returns nil (printed "[]") when nothing matched. */
export function goFindAllString(r: GoRegexp, s: string, n: number): string[] {
  return allMatches(r, s, n).map(([a = 0, b = 0]) => s.slice(a, b));
}

export function goSplit(r: GoRegexp, s: string, n: number): string[] {
  if (n === 0) return [];
  if (r.expr.length > 0 && s.length === 0) return [""];
  const parts: string[] = [];
  let beg = 0;
  let end = 0;
  for (const [mStart = 0, mEnd = 0] of allMatches(r, s, n)) {
    if (n > 0 && parts.length === n - 1) break;
    end = mStart;
    if (mEnd !== 0) parts.push(s.slice(beg, end));
    beg = mEnd;
  }
  if (end !== s.length) parts.push(s.slice(beg));
  return parts;
}

/** Go's extract: the group name after "$", as "name" or "{name}", or null when malformed. */
function extractName(t: string, i: number): { name: string; next: number } | null {
  const brace = t[i] === "{";
  const start = brace ? i + 1 : i;
  let j = start;
  for (const c of t.slice(start)) {
    if (!/^[\p{L}\p{Nd}_]$/u.test(c)) break;
    j += c.length;
  }
  if (j === start) return null;
  if (brace) {
    if (t[j] !== "}") return null;
    return { name: t.slice(start, j), next: j + 1 };
  }
  return { name: t.slice(start, j), next: j };
}

/** Go's Regexp.Expand for ReplaceAllString: $1, ${1}, $name, ${name}, $$. */
function expand(r: GoRegexp, template: string, s: string, m: Match): string {
  const group = (g: number): string => {
    const a = m[2 * g] ?? -1;
    const b = m[2 * g + 1] ?? -1;
    return a < 0 ? "" : s.slice(a, b);
  };
  let out = "";
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf("$", i);
    if (d < 0) break;
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const ref = extractName(template, i);
    if (ref === null) {
      // Malformed reference: Go copies the "$" literally.
      out += "$";
      continue;
    }
    i = ref.next;
    // A number without a leading zero is a group index; anything else is a group name.
    if (/^(0|[1-9][0-9]{0,8})$/.test(ref.name)) {
      out += group(Number(ref.name));
    } else {
      const idx = r.re.namedGroups()[ref.name];
      if (idx !== undefined) out += group(idx);
    }
  }
  return out + template.slice(i);
}

/** ReplaceAllString (or …Literal); null as soon as the result would exceed maxUnits UTF-16 units. */
export function goReplaceAll(
  r: GoRegexp,
  src: string,
  repl: string,
  literal: boolean,
  maxUnits: number,
): string | null {
  const m = r.re.matcher(src);
  const groups = literal ? 0 : r.re.groupCount();
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    const match = matchAt(m, groups, searchPos);
    if (match === null) break;
    const [a0 = 0, a1 = 0] = match;
    out += src.slice(lastMatchEnd, a0);
    // Go: no replacement for an empty match immediately after another match.
    if (a1 > lastMatchEnd || a0 === 0) out += literal ? repl : expand(r, repl, src, match);
    if (out.length > maxUnits) return null;
    lastMatchEnd = a1;
    const width = searchPos < src.length ? runeWidth(src, searchPos) : 1;
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  return out + src.slice(lastMatchEnd);
}

/** Go's regexp.QuoteMeta. */
export function goQuoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}
