import type { InstanceStateName } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { caught } from "../testkit/recording";
import { checkInstanceState } from "./instance-state";

describe("checkInstanceState", () => {
  it.each(["pending", "running"] as const)("accepts %s", (state) => {
    const instance = { InstanceId: "i-1", State: { Name: state } };
    expect(checkInstanceState(instance, "111111111111", "us-east-1")).toBe(instance);
  });

  it.each(["stopped", "stopping", "terminated", "shutting-down", "Running", ""])(
    "refuses %j as PermissionDenied",
    (state) => {
      const err = caught(() =>
        checkInstanceState(
          { InstanceId: "i-1", State: { Name: state as InstanceStateName } },
          "111111111111",
          "us-east-1",
        ),
      );
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toBe(
        `instance i-1 is ${state} in account 111111111111 region us-east-1; only pending or running instances can attest`,
      );
    },
  );

  it("answers an instance without a state as AWS's fault (Unavailable), never as accepted", () => {
    const err = caught(() =>
      checkInstanceState({ InstanceId: "i-1", State: {} }, "111111111111", "us-east-1"),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("instance i-1 has no state");
  });
});
