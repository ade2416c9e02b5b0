/**
 * Go's regexp results on re2js: Go's iteration rules (empty matches after a match, Split's
 * edge cases, Expand's names) and Go's error texts. Expected values are what Go returns for
 * the same calls (src/regexp/all_test.go and exec_test.go cases, and the golden corpus).
 */
import { describe, expect, it } from "vitest";
import {
  compileGoRegexp,
  GoRegexpError,
  goFindAllString,
  goFindString,
  goMatchString,
  goQuoteMeta,
  goReplaceAll,
  goSplit,
} from "./regexp";

const re = compileGoRegexp;

describe("compileGoRegexp", () => {
  it.each([
    ["(", "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"],
    ["a**", "regexp: Compile(`a**`): error parsing regexp: invalid nested repetition operator: `**`"],
    ["(?=a)", "regexp: Compile(`(?=a)`): error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
    ["a{1001}", "regexp: Compile(`a{1001}`): error parsing regexp: invalid repeat count: `{1001}`"],
    // strconv.Quote instead of backquotes when the pattern holds a control character.
    ["(\n", 'regexp: Compile("(\\n"): error parsing regexp: missing closing ): `(\n`'],
  ])("refuses %j with Go's text", (expr, message) => {
    let thrown: unknown;
    try {
      re(expr);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GoRegexpError);
    expect((thrown as GoRegexpError).message).toBe(message);
    // What regexp.MatchString returns: the same text without Compile's prefix.
    expect((thrown as GoRegexpError).bare).toBe(message.slice(message.indexOf("error parsing")));
  });

  it("returns the same compiled regexp for the same pattern", () => {
    expect(re("[a-z]+")).toBe(re("[a-z]+"));
  });
});

describe("matching", () => {
  it.each([
    ["^us-", "us-west-2", true],
    ["^west", "us-west-2", false],
    ["(?i)WEST", "us-west-2", true],
    ["\\bwest\\b", "us-west-2", true],
  ])("MatchString(%j, %j) = %s", (expr, s, expected) => {
    expect(goMatchString(re(expr), s)).toBe(expected);
  });

  it("finds the leftmost-first match, or an empty string", () => {
    expect(goFindString(re("a+|b"), "xbaa")).toBe("b");
    expect(goFindString(re("z"), "xbaa")).toBe("");
  });

  it("drops an empty match right after a match (FindAll)", () => {
    expect(goFindAllString(re("a*"), "baaab", -1)).toEqual(["", "aaa", ""]);
    expect(goFindAllString(re("[0-9]"), "i-0b22", 2)).toEqual(["0", "2"]);
    expect(goFindAllString(re("x"), "abc", -1)).toEqual([]);
  });

  it("anchors ^ at the start of the input, not at each search position", () => {
    expect(goFindAllString(re("^a"), "aaa", -1)).toEqual(["a"]);
  });
});

describe("goSplit", () => {
  it.each([
    ["-", "us-west-2", -1, ["us", "west", "2"]],
    ["-", "us-west-2", 2, ["us", "west-2"]],
    ["-", "us-west-2", 0, []],
    ["x*", "abc", -1, ["a", "b", "c"]],
    ["-", "", -1, [""]],
    ["", "abc", -1, ["a", "b", "c"]],
    ["-", "-a-", -1, ["", "a", ""]],
  ])("Split(%j, %j, %d)", (expr, s, n, expected) => {
    expect(goSplit(re(expr), s, n)).toEqual(expected);
  });
});

describe("goReplaceAll", () => {
  const replace = (expr: string, s: string, repl: string, literal = false): string | null =>
    goReplaceAll(re(expr), s, repl, literal, 1000);

  it.each([
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's ${name} expansion, not a JS template.
    ["a(x*)b", "-ab-axxb-", "${1}W", "-W-xxW-"],
    ["a(x*)b", "-ab-axxb-", "$1W", "---"],
    ["a(x*)b", "-ab-axxb-", "$$1", "-$1-$1-"],
    ["a(x*)b", "-ab-axxb-", "$", "-$-$-"],
    ["a(x*)b", "-ab-axxb-", "${1", "-${1-${1-"],
    ["(?P<first>\\w+)-(?P<second>\\w+)", "ab-cd", "$second.$first", "cd.ab"],
    ["(a)", "a", "[$01]", "[]"],
    ["(a)", "a", "[$2]", "[]"],
    ["a*", "baaab", "-", "-b-b-"],
    ["", "abc", "-", "-a-b-c-"],
    ["", "😀", "-", "-😀-"],
  ])("ReplaceAllString(%j, %j, %j) = %j", (expr, s, repl, expected) => {
    expect(replace(expr, s, repl)).toBe(expected);
  });

  it("inserts a literal replacement as is", () => {
    expect(replace("a(x*)b", "-ab-axxb-", "$1", true)).toBe("-$1-$1-");
  });

  it("stops as soon as the result would exceed the bound", () => {
    expect(replace("", "a".repeat(100), "0123456789")).toBeNull();
  });
});

describe("goQuoteMeta", () => {
  it("escapes RE2's special characters", () => {
    expect(goQuoteMeta("a.b*c[1]{2}(x|y)^$\\+?")).toBe("a\\.b\\*c\\[1\\]\\{2\\}\\(x\\|y\\)\\^\\$\\\\\\+\\?");
    expect(goMatchString(re(goQuoteMeta("a.b")), "axb")).toBe(false);
  });
});
