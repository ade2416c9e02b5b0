import { describe, expect, it } from "vitest";
import { Code, invalidArgument } from "../common/errors";
import { noopMetrics } from "../common/metrics";
import { recordingLogger, rejection } from "../testkit/recording";
import { type AgentRuntime, agentPluginShell } from "./agent-plugin-shell";
import type { PluginEnvironment } from "./contracts";

const core = { trustDomain: "example.org" };
const signal = new AbortController().signal;

function shell() {
  const logger = recordingLogger();
  const levels: string[] = [];
  const closed: string[] = [];
  const env: PluginEnvironment = {
    logger,
    hostServices: { agentStore: undefined, metrics: noopMetrics },
    setLogLevel: (l) => levels.push(l),
  };
  const plugin = agentPluginShell(env, {
    build(_core, hcl): AgentRuntime {
      if (hcl === "bad") throw invalidArgument("bad config");
      return {
        logLevel: "warn",
        notes: [`note ${hcl}`],
        summary: { config: hcl },
        payload: async () => new TextEncoder().encode(hcl),
        respondToChallenge: async (c) => c,
        close: () => closed.push(hcl),
      };
    },
  });
  return { plugin, logger, levels, closed };
}

describe("agentPluginShell", () => {
  it("answers FailedPrecondition before Configure", async () => {
    const { plugin } = shell();
    expect(await rejection(plugin.payload(signal))).toEqual({
      code: Code.FailedPrecondition,
      message: "not configured",
    });
  });

  it("swaps runtimes on Configure, keeps the old one after a failed Configure, closes the last on close", async () => {
    const { plugin, logger, levels, closed } = shell();
    await plugin.configure(core, "one");
    expect(levels).toEqual(["warn"]);
    expect(logger.lines.at(-1)).toMatchObject({
      level: "debug",
      message: "Configured",
      fields: { config: "one" },
    });
    await expect(plugin.configure(core, "bad")).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(new TextDecoder().decode(await plugin.payload(signal))).toBe("one");
    await plugin.configure(core, "two");
    expect(new TextDecoder().decode(await plugin.payload(signal))).toBe("two");
    expect(await plugin.respondToChallenge(new Uint8Array([7]), signal)).toEqual(new Uint8Array([7]));
    // A replaced runtime may still serve an attestation in flight: it is not closed.
    expect(closed).toEqual([]);
    await plugin.close();
    expect(closed).toEqual(["two"]);
  });

  it("validates with the runtime's notes, or the error", async () => {
    const { plugin, closed } = shell();
    expect(await plugin.validate(core, "x")).toEqual({ valid: true, notes: ["note x"] });
    expect(closed).toEqual(["x"]);
    expect(await plugin.validate(core, "bad")).toEqual({ valid: false, notes: ["bad config"] });
  });
});
