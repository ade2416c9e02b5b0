import { describe, expect, it } from "vitest";
import { checkDocumentPolicy, checkSignatureKindAllowed, formatDuration } from "./policy";

const doc = { accountId: "111122223333", region: "us-east-1", instanceId: "i-0123456789abcdef0" };

describe("policy", () => {
  it("defaults to SPIRE's behaviour: everything passes", () => {
    expect(() => checkDocumentPolicy(doc, {}, new Date())).not.toThrow();
    expect(() => checkSignatureKindAllowed("rsa", {})).not.toThrow();
    expect(() =>
      checkDocumentPolicy(doc, { allowedRegions: [], allowedAccountIds: [] }, new Date()),
    ).not.toThrow();
  });

  it("max_launch_age needs a pendingTime", () => {
    expect(() => checkDocumentPolicy(doc, { maxLaunchAgeMs: 1000 }, new Date())).toThrow(/no pendingTime/);
  });

  it("formats durations like Go", () => {
    expect(formatDuration(300_000)).toBe("5m0s");
    expect(formatDuration(3_600_000)).toBe("1h0m0s");
    expect(formatDuration(90_500)).toBe("1m30.5s");
    expect(formatDuration(250)).toBe("250ms");
  });
});
