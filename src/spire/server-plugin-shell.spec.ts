import { afterEach, describe, expect, it, vi } from "vitest";
import { Code, invalidArgument, permissionDenied } from "../common/errors";
import { recordingLogger, recordingMetrics, rejection } from "../testkit/recording";
import type { AttestRequestContext, PluginEnvironment } from "./contracts";
import {
  decide,
  resultLabel,
  type ServerMethod,
  type ServerRuntime,
  serverPluginShell,
} from "./server-plugin-shell";

const ctx = { payload: new Uint8Array([1]) } as AttestRequestContext;
const core = { trustDomain: "example.org" };

/** A method whose runtime accepts when the config text is "accept", else rejects with PermissionDenied. */
function method(closed: string[]): ServerMethod {
  return {
    name: "test_method",
    checkPayload: () => {},
    async build(_core, hcl): Promise<ServerRuntime> {
      if (hcl === "bad") throw invalidArgument("invalid configuration:\nline one\nline two");
      return {
        logLevel: "info",
        graceMs: 1000,
        org: undefined,
        notes: [`note for ${hcl}`],
        summary: { flavour: hcl },
        admission: {},
        attest: () =>
          decide({ seen: hcl }, async () => {
            if (hcl !== "accept") throw permissionDenied("not you");
            return { spiffeId: "spiffe://example.org/x", selectorValues: [], canReattest: false };
          }),
        close: async () => {
          closed.push(hcl);
        },
      };
    },
  };
}

function shell() {
  const logger = recordingLogger();
  const metrics = recordingMetrics();
  const levels: string[] = [];
  const env: PluginEnvironment = {
    logger,
    hostServices: { agentStore: undefined, metrics },
    setLogLevel: (l) => levels.push(l),
  };
  const closed: string[] = [];
  return { plugin: serverPluginShell(env, method(closed)), logger, metrics, levels, closed };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("serverPluginShell", () => {
  it("answers FailedPrecondition before Configure", async () => {
    const { plugin } = shell();
    expect(await rejection(plugin.attest(ctx))).toEqual({
      code: Code.FailedPrecondition,
      message: "not configured",
    });
  });

  it("refuses a core configuration without a valid trust domain before the method builds", async () => {
    const { plugin, levels } = shell();
    expect(await rejection(plugin.configure({ trustDomain: "" }, "accept"))).toEqual({
      code: Code.InvalidArgument,
      message: "invalid configuration:\nserver core configuration must contain trust_domain",
    });
    expect(await plugin.validate({ trustDomain: "Example.org" }, "accept")).toEqual({
      valid: false,
      notes: [
        "invalid configuration:",
        'invalid trust domain "Example.org": trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
      ],
    });
    // Nothing was built, so nothing was swapped in.
    expect(levels).toEqual([]);
    expect(await rejection(plugin.attest(ctx))).toMatchObject({ code: Code.FailedPrecondition });
  });

  it("logs and counts an accepted attestation with the method's trace", async () => {
    const { plugin, logger, metrics, levels } = shell();
    await plugin.configure(core, "accept");
    expect(levels).toEqual(["info"]);
    expect(logger.lines).toEqual([
      {
        level: "info",
        message: "Configured test_method server attestor",
        fields: { trust_domain: "example.org", flavour: "accept", hints: "note for accept" },
      },
    ]);
    expect((await plugin.attest(ctx)).spiffeId).toBe("spiffe://example.org/x");
    expect(logger.lines.at(-1)).toMatchObject({
      level: "info",
      message: "Attestation accepted",
      fields: { seen: "accept", decision: "accepted" },
    });
    expect(metrics.calls.map((c) => [c.kind, c.key, c.labels.result])).toEqual([
      ["counter", "test_method.attest", "accepted"],
      ["timer", "test_method.attest.duration", undefined],
    ]);
  });

  it("logs a rejection at WARN with its code and reason, counts it by code name, and rethrows it", async () => {
    const { plugin, logger, metrics } = shell();
    await plugin.configure(core, "reject");
    expect(await rejection(plugin.attest(ctx))).toEqual({ code: Code.PermissionDenied, message: "not you" });
    expect(logger.lines.at(-1)).toMatchObject({
      level: "warn",
      message: "Attestation rejected",
      fields: { seen: "reject", decision: "rejected", code: Code.PermissionDenied, reason: "not you" },
    });
    expect(metrics.calls[0]?.labels.result).toBe("permission_denied");
  });

  it("keeps the old runtime when a Configure fails, and retires a replaced one after its grace period", async () => {
    vi.useFakeTimers();
    const { plugin, closed } = shell();
    await plugin.configure(core, "accept");
    await expect(plugin.configure(core, "bad")).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect((await plugin.attest(ctx)).spiffeId).toBe("spiffe://example.org/x");
    await plugin.configure(core, "reject");
    expect(closed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(closed).toEqual(["accept"]);
    await plugin.close();
    expect(closed).toEqual(["accept", "reject"]);
  });

  it("validates without keeping anything, with the runtime's notes or the error's lines", async () => {
    const { plugin, closed } = shell();
    expect(await plugin.validate(core, "accept")).toEqual({ valid: true, notes: ["note for accept"] });
    expect(closed).toEqual(["accept"]);
    expect(await plugin.validate(core, "bad")).toEqual({
      valid: false,
      notes: ["invalid configuration:", "line one", "line two"],
    });
  });

  it("names codes in snake case", () => {
    expect([Code.Unavailable, Code.DeadlineExceeded, Code.Internal].map(resultLabel)).toEqual([
      "unavailable",
      "deadline_exceeded",
      "internal",
    ]);
  });
});
