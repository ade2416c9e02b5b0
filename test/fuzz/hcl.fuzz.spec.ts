/**
 * Byte-level fuzzing of the HCL v1 parser and the plugin_data decoders with fast-check.
 * plugin_data comes from the SPIRE server's config file, not from agents, but a Configure that
 * crashes the plugin takes every attestation down with it (SPIRE never restarts plugins), and
 * check-config runs the same parser over whatever an operator points it at. Properties: the
 * parser either returns a value or throws an HclError whose message carries a position; the
 * decoders never throw at all (problems are returned); deep nesting is refused, never a
 * RangeError from the call stack. FUZZ_RUNS sets the number of cases per property (CI default
 * 10,000; `npm run fuzz` runs 1,000,000).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../src/agent/config";
import { HclError } from "../../src/hcl/errors";
import { MAX_DEPTH, parse } from "../../src/hcl/parser";
import { parseServerConfig } from "../../src/server/config";

const RUNS = Number.parseInt(process.env.FUZZ_RUNS ?? "", 10) || 10_000;
const TIMEOUT = Math.max(120_000, RUNS * 2);

const POSITIONED = /^At \d+:\d+: \S/;

/** parse() must return or throw a positioned HclError; anything else is a crash. */
function parsesOrPositionedError(input: string | Uint8Array): void {
  try {
    parse(input);
  } catch (err) {
    if (!(err instanceof HclError)) throw err;
    expect(err.message).toMatch(POSITIONED);
  }
}

/** The decoders SPIRE's Configure reaches: never throw, always a config or problems. */
function decodesWithoutThrowing(text: string): void {
  const server = parseServerConfig(text, { env: {} });
  expect(server.config !== undefined || server.problems.length > 0).toBe(true);
  const agent = parseAgentConfig(text);
  expect(agent.config !== undefined || agent.problems.length > 0).toBe(true);
}

/** HCL's lexical pieces and the keys the plugin knows, glued at random. */
const tokenSoup = fc
  .array(
    fc.constantFrom(
      "{",
      "}",
      "[",
      "]",
      "=",
      ",",
      '"',
      '"\\u12"',
      '"\\x"',
      '"a\\"b"',
      '"${x}"',
      '"${',
      "'",
      "\\",
      "#",
      "// c\n",
      "/*",
      "*/",
      "<<EOF\n",
      "<<-EOF\n",
      "EOF\n",
      "\n",
      "\r\n",
      " ",
      "\t",
      "true",
      "false",
      "0",
      "-1",
      "0x1F",
      "0777",
      "1.5",
      "1e400",
      "9223372036854775808",
      ".",
      "-",
      "+",
      "\u00e9",
      "\u0000",
      "\uFEFF",
      "\uD800",
      "key",
      "region",
      "assume_role",
      "allowed_regions",
      "aws_certificate",
      "verify_organization",
      "agent_path_template",
      "aws_call_timeout",
      '"5s"',
      '"-1s"',
      "skip_block_device",
      "validate_eks_cluster_membership",
      "imds_endpoint",
      "log_level",
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(""));

describe("HCL parser fuzzing", () => {
  it(
    "random bytes: a value or a positioned HclError",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => parsesOrPositionedError(bytes)),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "token soup: a value or a positioned HclError; the decoders never throw",
    () => {
      fc.assert(
        fc.property(tokenSoup, (text) => {
          parsesOrPositionedError(text);
          decodesWithoutThrowing(text);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "JSON-path inputs (first character '{'): a value or a positioned HclError",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            tokenSoup.map((s) => `{${s}`),
            fc.json({ maxDepth: 6 }).map((j) => `{"a": ${j}}`),
          ),
          (text) => parsesOrPositionedError(text),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "deep nesting of objects, lists and keys is refused, not a stack overflow",
    () => {
      const opener = fc.constantFrom("a { ", "a = [", "a = { b = ", "a b c { ", "[", "{");
      fc.assert(
        fc.property(opener, fc.integer({ min: 1, max: 20_000 }), fc.boolean(), (open, depth, close) => {
          const text = open.repeat(depth) + (close ? "}".repeat(depth) : "");
          try {
            parse(text);
          } catch (err) {
            if (!(err instanceof HclError)) throw err;
            expect(err.message).toMatch(POSITIONED);
          }
          decodesWithoutThrowing(text);
        }),
        { numRuns: Math.max(50, Math.floor(RUNS / 100)) },
      );
    },
    TIMEOUT,
  );

  it("nesting past MAX_DEPTH is an error that says so", () => {
    const text = `${"a { ".repeat(MAX_DEPTH + 5)}${"}".repeat(MAX_DEPTH + 5)}`;
    expect(() => parse(text)).toThrow(HclError);
    expect(() => parse(`${"a { ".repeat(10)}${"}".repeat(10)}`)).not.toThrow();
  });
});
