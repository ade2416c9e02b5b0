/**
 * A small model of the Go values a path template sees, so that the engine reproduces Go's
 * text/template behaviour (printing, truthiness, comparison, argument type checks) rather
 * than JavaScript's. Go distinguishes int from float64 and []string from []interface{}, and
 * prints each its own way, so we keep those apart. Printing follows Go 1.25's fmt (%v of
 * basic values, slices, maps with sorted keys and structs) and strconv.FormatFloat.
 */
import { compareGoStrings } from "../common/go-strings";

/** Go int (int64 in practice); bigint keeps integer and float arithmetic apart. */
export type GoInt = bigint;

export class GoList {
  constructor(
    /** "string" for Go []string (splitList, regexSplit…), "any" for []interface{}. */
    readonly elem: "string" | "any",
    readonly items: readonly GoValue[],
  ) {}
}

/** A map[string]string such as SPIRE's awsiid.instanceTags; read-only to templates. */
export class GoMap {
  constructor(
    readonly typeName: string,
    readonly entries: ReadonlyMap<string, string>,
  ) {}
}

/** The root data, a Go struct such as SPIRE's awsiid.agentPathTemplateData. */
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
