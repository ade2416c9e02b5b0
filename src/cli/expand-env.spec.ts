import { describe, expect, it } from "vitest";
import { expandEnv } from "./expand-env";

describe("expandEnv (Go's os.ExpandEnv)", () => {
  const env = { REGION: "eu-west-1", ACCOUNT: "123456789012", "1": "one" };
  it.each([
    ['allowed_regions = ["${REGION}"]', 'allowed_regions = ["eu-west-1"]'],
    ["id = $ACCOUNT/x", "id = 123456789012/x"],
    ["unset: [$NOPE] [${NOPE}]", "unset: [] []"],
    ["price $ 5 and trailing $", "price $ 5 and trailing $"],
    ["empty ${} braces", "empty  braces"],
    ["unclosed ${REGION", "unclosed REGION"],
    ["special $1 ${1}", "special one one"],
    ["$REGION$ACCOUNT", "eu-west-1123456789012"],
  ])("%s", (input, expected) => {
    expect(expandEnv(input, env)).toBe(expected);
  });
});
