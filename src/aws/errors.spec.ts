import { describe, expect, it } from "vitest";
import { Code, permissionDenied } from "../common/errors";
import { type AwsCallContext, classifyAwsError, failureKind } from "./errors";

const ctx: AwsCallContext = {
  api: "DescribeInstances",
  permission: "ec2:DescribeInstances",
  account: "111111111111",
  region: "us-west-2",
  principal: "role arn:aws:iam::111111111111:role/r",
  timeoutMs: 20_000,
};

function sdkError(name: string, status?: number, message = "m", code?: string): Error {
  const err = new Error(message) as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  err.name = name;
  if (status !== undefined) err.$metadata = { httpStatusCode: status };
  if (code !== undefined) err.code = code;
  return err;
}

describe("failureKind / classifyAwsError", () => {
  it.each([
    ["RequestLimitExceeded", 503, undefined, "throttled"],
    ["Throttling", 400, undefined, "throttled"],
    ["TooManyRequestsException", 400, undefined, "throttled"],
    ["Whatever", 429, undefined, "throttled"],
    ["AbortError", undefined, undefined, "timeout"],
    ["TimeoutError", undefined, undefined, "timeout"],
    ["TimeoutError", undefined, "ECONNRESET", "network"],
    ["Error", undefined, "ECONNREFUSED", "network"],
    ["UnauthorizedOperation", 403, undefined, "access-denied"],
    ["AccessDenied", 403, undefined, "access-denied"],
    ["AccessDeniedException", 403, undefined, "access-denied"],
    ["ExpiredToken", 400, undefined, "credentials"],
    ["RequestExpired", 400, undefined, "credentials"],
    ["AuthFailure", 401, undefined, "credentials"],
    ["CredentialsProviderError", undefined, undefined, "no-credentials"],
    ["InternalError", 500, undefined, "server-error"],
    ["Unknown", 502, undefined, "server-error"],
    ["ValidationError", 400, undefined, "other"],
  ])("%s (HTTP %s, code %s) is %s and Unavailable", (name, status, code, kind) => {
    const err = sdkError(name, status, "m", code);
    expect(failureKind(err)).toBe(kind);
    expect(classifyAwsError(err, ctx).code).toBe(Code.Unavailable);
  });

  it("says no credentials were found, and where the SDK looked, when the chain comes up empty", () => {
    const err = classifyAwsError(
      sdkError("CredentialsProviderError", undefined, "Could not load credentials from any providers"),
      { ...ctx, principal: "the credentials from the AWS SDK default chain" },
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/^no AWS credentials to call DescribeInstances in account /);
    expect(err.message).toMatch(
      /AWS SDK default credential chain found none \(it tried .*instance role.*\); AWS never saw the request/,
    );
    expect(err.message).toContain("Could not load credentials from any providers");
    expect(err.message).not.toMatch(/rejected|credentials of the credentials/);
  });

  it("recognises SDK deserialization failures as malformed", () => {
    const err = sdkError("Error", 200, "@aws-sdk XML parse error: expected > Deserialization error: …");
    expect(failureKind(err)).toBe("malformed");
  });

  it("tells the operator which permission to grant to whom", () => {
    const err = classifyAwsError(sdkError("UnauthorizedOperation", 403, "You are not authorized"), ctx);
    expect(err.message).toContain("grant ec2:DescribeInstances");
    expect(err.message).toContain("role arn:aws:iam::111111111111:role/r");
    expect(err.message).toContain("account 111111111111 region us-west-2");
  });

  it("says HTTP status for a bare 5xx, and bounds long AWS messages", () => {
    expect(classifyAwsError(sdkError("Unknown", 500, "Unknown"), ctx).message).toContain("HTTP 500");
    const long = classifyAwsError(sdkError("ValidationError", 400, "x".repeat(5000)), ctx);
    expect(long.message.length).toBeLessThan(600);
  });

  it("passes PluginErrors through", () => {
    const denied = permissionDenied("no");
    expect(classifyAwsError(denied, ctx)).toBe(denied);
  });
});
