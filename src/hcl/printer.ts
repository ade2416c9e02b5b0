/**
 * Prints decoded values back as HCL v1 text that our parser (and Go's) reads back to the
 * same value: used for docs and examples, and by the round-trip property test. Layout
 * follows SPIRE's printer loosely (two-space indent, `key = value`, blocks for lists of
 * objects); it does not try to reproduce Go's column alignment.
 */
import type { GoValue } from "./generic";

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function printKey(key: string): string {
  return BARE_KEY.test(key) && key !== "true" && key !== "false" ? key : quoteString(key);
}

/**
 * A quoted HCL string. "${" opens an interpolation that HCL v1 copies verbatim (no escapes,
 * quotes allowed inside), so such text is only printable when its braces balance.
 */
export function quoteString(s: string): string {
  let out = '"';
  let i = 0;
  while (i < s.length) {
    if (s[i] === "$" && s[i + 1] === "{") {
      let depth = 0;
      let j = i + 1;
      for (; j < s.length; j++) {
        if (s[j] === "{") depth++;
        else if (s[j] === "}" && --depth === 0) break;
      }
      if (depth !== 0)
        throw new Error(`cannot print ${JSON.stringify(s)}: unbalanced "\${" in an HCL v1 string`);
      out += s.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (c === '"' || c === "\\") out += `\\${c}`;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += c;
    i++;
  }
  return `${out}"`;
}

function printFloat(v: number): string {
  if (Object.is(v, -0)) return "-0.0";
  const s = String(v);
  // Keep it a FLOAT token: "2" would come back as an int.
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function printScalarOrList(v: GoValue, indent: string): string {
  switch (v.t) {
    case "string":
      return quoteString(v.v);
    case "int":
      return v.v.toString();
    case "float":
      return printFloat(v.v);
    case "bool":
      return v.v ? "true" : "false";
    case "slice":
      return `[${v.items.map((x) => printScalarOrList(x, indent)).join(", ")}]`;
    case "map":
      return `{\n${printBody(v, `${indent}  `)}${indent}}`;
  }
}

function printBody(map: GoValue & { t: "map" }, indent: string): string {
  let out = "";
  for (const [k, v] of map.m) {
    const key = printKey(k);
    // A non-empty list of objects directly under a map is what blocks decode to.
    if (v.t === "slice" && v.items.length > 0 && v.items.every((x) => x.t === "map")) {
      for (const block of v.items) {
        out += `${indent}${key} {\n${printBody(block as GoValue & { t: "map" }, `${indent}  `)}${indent}}\n`;
      }
    } else {
      out += `${indent}${key} = ${printScalarOrList(v, indent)}\n`;
    }
  }
  return out;
}

/** Prints a decoded top-level map as an HCL v1 body. */
export function printHcl(value: GoValue & { t: "map" }): string {
  return printBody(value, "");
}
