/**
 * A small model of the Go values that SPIRE's agent path template sees, so that our template
 * engine reproduces Go's text/template behaviour (printing, truthiness, comparison, argument
 * type checks) rather than JavaScript's. Go distinguishes int from float64, []string from
 * []interface{}, and map[string]string (SPIRE's `instanceTags`) from map[string]interface{}
 * (sprig's dict): the last difference is visible to users, since `hasKey .Tags "k"` fails in
 * SPIRE with a type error, so we keep it.
 */

/** Go int (int64 in practice); bigint keeps integer and float arithmetic apart. */
export type GoInt = bigint;

export class GoList {
  constructor(
    /** "string" for Go []string (splitList, keys, sortAlpha…), "any" for []interface{}. */
    readonly elem: "string" | "any",
    readonly items: readonly GoValue[],
  ) {}
}

export class GoMap {
  constructor(
    /** "tags" is SPIRE's awsiid.instanceTags (map[string]string); "dict" is map[string]interface{}. */
    readonly kind: "tags" | "dict",
    // Mutable on purpose: sprig's set/unset mutate a dict in place, like a Go map.
    readonly entries: Map<string, GoValue>,
  ) {}
}

/** SPIRE's awsiid.agentPathTemplateData struct. */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: ReadonlyMap<string, GoValue>,
  ) {}
}

export type GoValue = string | GoInt | number | boolean | null | GoList | GoMap | GoStruct;

export function goTypeName(v: GoValue): string {
  if (v === null) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "bigint":
      return "int";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
  }
  if (v instanceof GoList) return v.elem === "string" ? "[]string" : "[]interface {}";
  if (v instanceof GoMap) return v.kind === "tags" ? "awsiid.instanceTags" : "map[string]interface {}";
  return v.typeName;
}

/** Go's text/template `truth`: zero values and empty containers are false; structs are true. */
export function goTruth(v: GoValue): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case "string":
      return v.length > 0;
    case "bigint":
      return v !== 0n;
    case "number":
      return v !== 0;
    case "boolean":
      return v;
  }
  if (v instanceof GoList) return v.items.length > 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  return true;
}

/** sprig's `empty` (reflection based): same as !truth for every kind we model. */
export function sprigEmpty(v: GoValue): boolean {
  return !goTruth(v);
}

/** Go reflect.DeepEqual over our value model (used by sprig has/uniq/without). */
export function goDeepEqual(a: GoValue, b: GoValue): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof GoList && b instanceof GoList) {
    return (
      a.elem === b.elem &&
      a.items.length === b.items.length &&
      a.items.every((x, i) => goDeepEqual(x, b.items[i] ?? null))
    );
  }
  if (a instanceof GoMap && b instanceof GoMap) {
    if (a.kind !== b.kind || a.entries.size !== b.entries.size) return false;
    for (const [k, v] of a.entries) {
      if (!b.entries.has(k) || !goDeepEqual(v, b.entries.get(k) ?? null)) return false;
    }
    return true;
  }
  return false;
}

/** strconv.FormatFloat(f, 'g', -1, 64), which is what fmt's %v prints for a float64. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Number.POSITIVE_INFINITY) return "+Inf";
  if (f === Number.NEGATIVE_INFINITY) return "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  // Shortest round-trip digits, as Go's 'g' with precision -1 uses.
  const [mantissa = "", expPart = "0"] = f.toExponential().split("e");
  const exp = Number(expPart);
  // Go (strconv 'g', shortest): %e when exp < -4 || exp >= 6.
  const eprec = 6;
  if (exp < -4 || exp >= eprec) {
    const sign = exp < 0 ? "-" : "+";
    const abs = Math.abs(exp);
    return `${mantissa}e${sign}${abs < 10 ? `0${abs}` : String(abs)}`;
  }
  // In [-4, 6) JavaScript never uses exponent notation, and its shortest digits equal Go's.
  return String(f);
}

/** fmt's %v formatting of a value, as text/template prints the result of an action. */
export function formatGoValue(v: GoValue, nested = false): string {
  if (v === null) return nested ? "<nil>" : "<no value>";
  switch (typeof v) {
    case "string":
      return v;
    case "bigint":
      return v.toString();
    case "number":
      return formatGoFloat(v);
    case "boolean":
      return v ? "true" : "false";
  }
  if (v instanceof GoList) return `[${v.items.map((x) => formatGoValue(x, true)).join(" ")}]`;
  if (v instanceof GoMap) {
    // fmt prints maps with sorted keys.
    const keys = [...v.entries.keys()].sort(compareGoStrings);
    return `map[${keys.map((k) => `${k}:${formatGoValue(v.entries.get(k) ?? null, true)}`).join(" ")}]`;
  }
  return `{${[...v.fields.values()].map((x) => formatGoValue(x, true)).join(" ")}}`;
}

/** Go compares strings byte-wise (UTF-8); JS compares UTF-16 code units. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Go's %q: double-quoted with Go escapes; printable Unicode kept as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (cp === 0xfffd) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, "0")}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate cannot be UTF-8 encoded; Go would have seen U+FFFD here.
      out += "\\ufffd";
    } else if (/[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(ch)) {
      out += ch;
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, "0")}`;
    }
  }
  return `${out}"`;
}

/** sprig's strval: how sprig turns any argument into a string. */
export function sprigStrval(v: GoValue): string {
  return formatGoValue(v, true);
}
