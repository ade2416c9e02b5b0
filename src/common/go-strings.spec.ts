/**
 * Go's conventions, with expected values as Go gives them: strconv.Quote (what fmt's %q prints
 * for a string) and Go's byte-wise string order.
 */
import { describe, expect, it } from "vitest";
import { compareGoStrings, goQuote } from "./go-strings";

describe("goQuote is strconv.Quote", () => {
  it.each([
    ["", '""'],
    ["plain text", '"plain text"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["C:\\dir", '"C:\\\\dir"'],
    ["\x07\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'],
    ["\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'],
    // Printable Unicode stays as is; Go's IsPrint admits only the ASCII space among spaces.
    ["héllo wörld 😀", '"héllo wörld 😀"'],
    ["\u00a0", '"\\u00a0"'],
    ["\u200b", '"\\u200b"'],
    ["\u{e0001}", '"\\U000e0001"'],
    ["\ufffd", '"\ufffd"'],
  ])("quotes %j", (input, quoted) => {
    expect(goQuote(input)).toBe(quoted);
  });
});

describe("compareGoStrings orders by UTF-8 bytes, as Go does", () => {
  it("puts U+FFFF before an astral character, where UTF-16 order says the opposite", () => {
    expect("\uffff" < "😀").toBe(false);
    expect(compareGoStrings("\uffff", "😀")).toBeLessThan(0);
    expect(compareGoStrings("😀", "\uffff")).toBeGreaterThan(0);
  });

  it("agrees with plain order on ASCII, prefixes first, and equal strings are 0", () => {
    const sorted = ["b", "a", "ab", "B", ""].sort(compareGoStrings);
    expect(sorted).toEqual(["", "B", "a", "ab", "b"]);
    expect(compareGoStrings("same", "same")).toBe(0);
  });
});
