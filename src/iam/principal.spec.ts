import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import {
  defaultAgentPathSegments,
  escapeSegment,
  globMatch,
  principalFromIdentity,
  selectorsFor,
} from "./principal";

describe("principalFromIdentity", () => {
  it("derives the path-less role ARN from an assumed-role ARN", () => {
    const p = principalFromIdentity(
      {
        arn: "arn:aws:sts::123456789012:assumed-role/app/alice@example.com",
        account: "123456789012",
        userId: "AROAEXAMPLE:alice@example.com",
      },
      "aws",
    );
    expect(p).toMatchObject({
      kind: "assumed-role",
      roleName: "app",
      sessionName: "alice@example.com",
      roleArn: "arn:aws:iam::123456789012:role/app",
    });
    expect(defaultAgentPathSegments(p)).toEqual(["123456789012", "app", "alice_40example.com"]);
    expect(selectorsFor(p)).toEqual([
      "account_id:123456789012",
      "principal_arn:arn:aws:sts::123456789012:assumed-role/app/alice@example.com",
      "role:app",
      "role_arn:arn:aws:iam::123456789012:role/app",
      "session_name:alice@example.com",
    ]);
  });

  it("accepts IAM users with paths", () => {
    const p = principalFromIdentity(
      { arn: "arn:aws-us-gov:iam::123456789012:user/ci/runner", account: "123456789012", userId: "AIDAX" },
      "aws-us-gov",
    );
    expect(p).toMatchObject({ kind: "user", userName: "runner" });
    expect(defaultAgentPathSegments(p)).toEqual(["123456789012", "user", "runner", "AIDAX"]);
  });

  const refused: Array<[string, string]> = [
    ["root", "arn:aws:iam::123456789012:root"],
    ["federated user", "arn:aws:sts::123456789012:federated-user/bob"],
    ["role ARN (not assumed)", "arn:aws:iam::123456789012:role/app"],
    ["other account in ARN", "arn:aws:sts::999999999999:assumed-role/app/s"],
    ["other partition", "arn:aws-cn:sts::123456789012:assumed-role/app/s"],
    ["garbage", "not an arn"],
  ];
  for (const [name, arn] of refused) {
    it(`refuses ${name}`, () => {
      expect(() => principalFromIdentity({ arn, account: "123456789012", userId: "X" }, "aws")).toThrow(
        expect.objectContaining({ code: Code.PermissionDenied }),
      );
    });
  }
});

describe("globMatch", () => {
  const cases: Array<[string, string, boolean]> = [
    ["*", "", true],
    ["*", "anything/at:all", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["arn:aws:iam::*:role/spire-*", "arn:aws:iam::123456789012:role/spire-node", true],
    ["arn:aws:iam::*:role/spire-*", "arn:aws:iam::123456789012:role/other", false],
    ["*a*a*a*a*a*a*b", "a".repeat(2000), false],
    ["exact", "exact", true],
    ["exact", "exactly", false],
  ];
  for (const [pattern, value, want] of cases) {
    it(`${pattern} ~ ${value.slice(0, 40)} = ${want}`, () => expect(globMatch(pattern, value)).toBe(want));
  }
});

describe("escapeSegment", () => {
  it("is injective over tricky names and yields valid SPIFFE segments", () => {
    const names = ["a@b", "a_b", "a_40b", "a__b", ".", "..", "_2E", "a+b=c,d", "ok-name.1", "a b"];
    const escaped = names.map(escapeSegment);
    expect(new Set(escaped).size).toBe(names.length);
    for (const e of escaped) {
      expect(e).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(e === "." || e === "..").toBe(false);
    }
  });
});
