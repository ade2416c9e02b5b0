// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL "${...}" interpolation text is the test data.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { formatGoDuration, parseGoDuration } from "./duration";
import { HclError } from "./errors";
import { parseToGoValue, toPlain } from "./generic";
import { MAX_DEPTH, parse } from "./parser";
import { decodeWithSchema, nearestKey } from "./schema";

function errorOf(input: string | Uint8Array): HclError {
  try {
    parseToGoValue(input);
  } catch (e) {
    if (e instanceof HclError) return e;
    throw e;
  }
  throw new Error("expected an HclError");
}

describe("HCL v1 shapes", () => {
  it("decodes blocks and object assignments to a list holding one object", () => {
    expect(toPlain(parseToGoValue('x { a = "b" }'))).toEqual({ x: [{ a: "b" }] });
    expect(toPlain(parseToGoValue('x = { a = "b" }'))).toEqual({ x: [{ a: "b" }] });
  });

  it("appends repeated blocks and keeps the last repeated scalar", () => {
    expect(toPlain(parseToGoValue("x { a = 1 }\nx { a = 2 }\ny = 1\ny = 2"))).toEqual({
      x: [{ a: 1 }, { a: 2 }],
      y: 2,
    });
  });

  it("keeps ${...} as text and accepts quoted keys, hex, octal and JSON", () => {
    expect(toPlain(parseToGoValue('"k" = "${x}"\nh = 0x1F\no = 017'))).toEqual({ k: "${x}", h: 31, o: 15 });
    expect(toPlain(parseToGoValue('{"a": {"b": [1]}}'))).toEqual({ a: [{ b: [1] }] });
  });

  it("keeps int64 values exact", () => {
    expect(toPlain(parseToGoValue("a = 9223372036854775807"))).toEqual({ a: 9223372036854775807n });
    expect(errorOf("a = 9223372036854775808").message).toMatch(/value out of range/);
  });

  it("reports Go's messages with positions", () => {
    expect(errorOf('a = [\n"x"\n"y"]').message).toBe(
      "At 3:1: error parsing list, expected comma or list end, got: STRING",
    );
    expect(errorOf("a = 1\n@").message).toBe("At 2:1: illegal char");
    expect(errorOf("x {\n  a = 1\n").message).toBe("At 3:2: object expected closing RBRACE got: EOF");
  });
});

describe("bad input is an error with a position, in bounded time and memory", () => {
  it("refuses deep nesting without overflowing the stack", () => {
    for (const deep of [
      "a = ".concat("[".repeat(100_000)),
      "x ".concat("{ y ".repeat(50_000)),
      "{".concat('"a":{'.repeat(50_000)),
    ]) {
      const e = errorOf(deep);
      expect(e.message).toMatch(/At \d+:\d+: /);
    }
    expect(errorOf(`a = ${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}`).message).toMatch(
      /nesting too deep/,
    );
    expect(() => parse(`a = ${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}`)).not.toThrow();
    expect(errorOf(`${"k ".repeat(MAX_DEPTH + 5)}{}`).message).toMatch(/nesting too deep/);
  });

  it("refuses input over 1 MiB and handles 1 MiB of garbage", () => {
    expect(errorOf("#".repeat(1024 * 1024 + 1)).message).toMatch(/input too large/);
    const bytes = new Uint8Array(1024 * 1024);
    let s = 12345;
    for (let i = 0; i < bytes.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      bytes[i] = s >>> 24;
    }
    expect(errorOf(bytes).message).toMatch(/^At \d+:\d+: /);
    expect(errorOf(`a = "${"x".repeat(1024 * 1000)}`).message).toMatch(/literal not terminated/);
    expect(errorOf(`a = <<EOF\n${"line\n".repeat(100_000)}`).message).toMatch(/heredoc not terminated/);
  });

  it("reports NUL bytes, unterminated strings and comments", () => {
    expect(errorOf("a = 1\n\0").message).toBe("At 2:1: unexpected null character (0x00)");
    expect(errorOf('a = "abc').message).toBe("At 1:9: literal not terminated");
    expect(errorOf("/* never closed").message).toMatch(/comment not terminated/);
  });

  test.prop([fc.string({ maxLength: 200 })], { numRuns: 500 })("never throws anything but HclError", (s) => {
    try {
      parseToGoValue(s);
    } catch (e) {
      expect(e).toBeInstanceOf(HclError);
    }
  });

  test.prop([fc.uint8Array({ maxLength: 200 })], { numRuns: 300 })("bytes: never crashes", (b) => {
    try {
      parseToGoValue(b);
    } catch (e) {
      expect(e).toBeInstanceOf(HclError);
    }
  });
});

describe("Go durations", () => {
  it.each([
    ["90s", 90_000_000_000n],
    ["3m", 180_000_000_000n],
    ["1h30m", 5_400_000_000_000n],
    ["1.5h", 5_400_000_000_000n],
    ["300ms", 300_000_000n],
    ["1us", 1000n],
    ["1µs", 1000n],
    ["-5m", -300_000_000_000n],
    ["0", 0n],
    ["+1s", 1_000_000_000n],
    [".5s", 500_000_000n],
    ["2562047h47m16.854775807s", 9223372036854775807n],
    ["1.0000000000000000000001s", 1_000_000_000n],
    ["0.1234567890123456789s", 123_456_789n],
  ])("%s", (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each([
    ["", 'time: invalid duration ""'],
    ["5", 'time: missing unit in duration "5"'],
    ["5d", 'time: unknown unit "d" in duration "5d"'],
    ["1h-1m", 'time: unknown unit "h-" in duration "1h-1m"'],
    [".s", 'time: invalid duration ".s"'],
    ["9999999999999h", 'time: invalid duration "9999999999999h"'],
  ])("%s is refused like Go", (text, message) => {
    expect(parseGoDuration(text)).toBe(message);
  });

  it("formats like time.Duration.String", () => {
    expect(formatGoDuration(180_000_000_000n)).toBe("3m0s");
    expect(formatGoDuration(5_400_000_000_000n)).toBe("1h30m0s");
    expect(formatGoDuration(300_000_000n)).toBe("300ms");
    expect(formatGoDuration(1_500_000_000n)).toBe("1.5s");
    expect(formatGoDuration(0n)).toBe("0s");
    expect(formatGoDuration(1500n)).toBe("1.5µs");
  });
});

describe("schema decoding", () => {
  const fields = {
    name: { type: "string", doc: "" },
    port: { type: "int", default: 1, doc: "" },
    on: { type: "bool", default: false, doc: "" },
    block: { type: "block", doc: "", fields: { inner: { type: "string", doc: "" } } },
  } as const;

  it('coerces like Go: number into string, quoted number into int; refuses "true" for a bool', () => {
    const r = decodeWithSchema(parse('name = 123456789012\nport = "8080"\non = "true"').root, fields);
    expect(r.value.name).toBe("123456789012");
    expect(r.value.port).toBe(8080);
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^on: expected true or false, got a string/),
    ]);
  });

  it("names unknown keys and suggests the nearest known one", () => {
    const r = decodeWithSchema(parse('nmae = "x"\nblock { innr = "y" }\nzzzzzz = 1').root, fields);
    expect(r.problems.map((p) => p.message)).toEqual([
      'unknown key "nmae", did you mean name?',
      'unknown key "zzzzzz"',
      'unknown key "innr" in block, did you mean inner?',
    ]);
    expect(nearestKey("verify_organisation", ["verify_organization", "assume_role"])).toBe(
      "verify_organization",
    );
  });

  it("keeps the last block and refuses labels", () => {
    const r = decodeWithSchema(parse('block { inner = "a" }\nblock { }\nblock "x" { }').root, fields);
    expect(r.value.block).toEqual({ inner: undefined });
    expect(r.problems[0]!.message).toMatch(/unexpected label "x"/);
  });
});
