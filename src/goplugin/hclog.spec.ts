import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { checkHclogLine } from "../testkit/spire-host-log";
import { formatLine, HclogLogger, hclogTimestamp, MAX_LINE_CHARS, parseLogLevel } from "./hclog";

function capture(level: "trace" | "debug" | "info" | "warn" | "error" = "trace"): {
  logger: HclogLogger;
  lines: string[];
} {
  const lines: string[] = [];
  const logger = new HclogLogger({ level, sink: (l) => lines.push(l), clock: () => 1_700_000_000_123_456 });
  return { logger, lines };
}

describe("hclog timestamp", () => {
  it("has exactly six fractional digits, as go-plugin's layout requires", () => {
    expect(hclogTimestamp(1_700_000_000_123_456)).toBe("2023-11-14T22:13:20.123456Z");
    expect(hclogTimestamp(1_700_000_000_000_007)).toBe("2023-11-14T22:13:20.000007Z");
  });
});

describe("HclogLogger", () => {
  it("writes one parsed line per call with string reserved keys and string fields", () => {
    const { logger, lines } = capture();
    logger.info("hello", { n: 1, b: true, o: { a: 1 } });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    const parsed = checkHclogLine(lines[0]!.trimEnd());
    expect(parsed).toMatchObject({ level: "info", message: "hello", problem: undefined });
    expect(parsed.fields).toEqual({ n: "1", b: "true", o: '{"a":1}' });
  });

  it("filters by level and changes level at runtime for derived loggers too", () => {
    const { logger, lines } = capture("info");
    const child = logger.with({ module: "x" });
    child.debug("hidden");
    logger.setLevel("debug");
    child.debug("shown");
    expect(lines.map((l) => checkHclogLine(l.trimEnd()).message)).toEqual(["shown"]);
    expect(checkHclogLine(lines[0]!.trimEnd()).fields).toEqual({ module: "x" });
  });

  it("keeps the record's own @level/@message/@timestamp when fields collide", () => {
    const { logger, lines } = capture();
    logger.error("m", { "@level": 3, "@message": null, "@timestamp": {}, __proto__: "p" } as Record<
      string,
      unknown
    >);
    const parsed = checkHclogLine(lines[0]!.trimEnd());
    expect(parsed).toMatchObject({ level: "error", message: "m", problem: undefined });
    expect(parsed.fields["field@level"]).toBe("3");
  });

  it("never emits a line of 64 KiB or more", () => {
    const line = formatLine("warn", "\u0000".repeat(100_000), [], { a: "\u0001".repeat(100_000) }, 0);
    expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    expect(checkHclogLine(line)).toMatchObject({ level: "warn", problem: undefined });
  });

  it("parses SPIRE's level spellings", () => {
    expect(parseLogLevel("INFO")).toBe("info");
    expect(parseLogLevel("warning")).toBe("warn");
    expect(parseLogLevel("fatal")).toBeUndefined();
  });

  test.prop([
    fc.constantFrom("trace", "debug", "info", "warn", "error" as const),
    fc.anything({ withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: true }),
    fc.dictionary(
      fc.string(),
      fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true }),
    ),
  ])("any message and fields give a line go-plugin parses at that level", (level, message, fields) => {
    const { logger, lines } = capture();
    logger[level](message as string, fields);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.indexOf("\n")).toBe(line.length - 1);
    expect(checkHclogLine(line.trimEnd())).toMatchObject({ level, problem: undefined });
  });
});
