// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL "${...}" interpolation text is the test data.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { type GoValue, parseToGoValue } from "./generic";
import { printHcl, quoteString } from "./printer";

type MapValue = GoValue & { t: "map" };

const key = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/),
  fc.string({ maxLength: 8 }).filter((s) => !s.includes("${")),
  fc.constantFrom("true", "false", "dotted.key", "dash-key", "ключ"),
);
const text = fc.oneof(
  fc.string({ maxLength: 20, unit: "grapheme" }),
  fc.constantFrom("${var.x}", "{{ .AccountID }}", 'quote"back\\slash', "tab\tnl\n", "${a{b}c}"),
);
const scalar: fc.Arbitrary<GoValue> = fc.oneof(
  text
    .filter((s) => !/\$\{/.test(s) || /^(\$\{[^"\n]*\}|[^$])*$/.test(s))
    .map((v) => ({ t: "string", v }) as const),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => ({ t: "int", v }) as const),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => ({ t: "float", v }) as const),
  fc.boolean().map((v) => ({ t: "bool", v }) as const),
);

function toMap(entries: [string, GoValue][]): MapValue {
  return { t: "map", m: new Map(entries) };
}

const { map } = fc.letrec<{ map: MapValue; value: GoValue; listItem: GoValue }>((tie) => ({
  map: fc.uniqueArray(fc.tuple(key, tie("value")), { maxLength: 5, selector: ([k]) => k }).map(toMap),
  // Under a map, objects only exist as lists of maps (that is what blocks decode to).
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc
      .array(tie("listItem"), { maxLength: 4 })
      .map((items) => ({ t: "slice", elem: "iface", items }) as const),
    fc
      .array(tie("map"), { minLength: 1, maxLength: 3 })
      .map((items) => ({ t: "slice", elem: "map", items }) as const),
  ),
  // Inside a list, an object decodes to a map.
  listItem: fc.oneof({ depthSize: "small" }, scalar, tie("map")),
}));

function plain(v: GoValue): unknown {
  switch (v.t) {
    case "map":
      return Object.fromEntries([...v.m].map(([k, x]) => [k, plain(x)]));
    case "slice":
      return v.items.map(plain);
    case "int":
      return `int:${v.v}`;
    case "float":
      return Object.is(v.v, -0) ? "float:-0" : `float:${v.v}`;
    default:
      return v.v;
  }
}

describe("printer", () => {
  test.prop([map], { numRuns: 300 })("printing then parsing gives the same value", (value) => {
    const text = printHcl(value);
    expect(plain(parseToGoValue(text))).toEqual(plain(value));
  });

  it("prints blocks for lists of objects and quotes keys that need it", () => {
    const v = parseToGoValue('x { a = 1 }\nx { b = "c" }\n"my key" = true\n"true" = 1.0');
    expect(printHcl(v as MapValue)).toBe(
      'x {\n  a = 1\n}\nx {\n  b = "c"\n}\n"my key" = true\n"true" = 1.0\n',
    );
  });

  it("refuses strings HCL v1 cannot represent", () => {
    expect(() => quoteString("${unbalanced")).toThrow(/unbalanced/);
  });
});
