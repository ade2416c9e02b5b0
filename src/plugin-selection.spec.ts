import { describe, expect, it } from "vitest";
import { methodFromProgramName, selectPlugin } from "./plugin-selection";
import { sideOfHost } from "./spire/plugin-sides";
import { AGENT_STORE_HOST_SERVICE, defaultHostServices, METRICS_HOST_SERVICE } from "./spire/service-names";

describe("plugin selection", () => {
  it("plugin_args name side and method", () => {
    expect(selectPlugin("server", "spire-aws-iam")).toEqual({ side: "server", method: "aws_iid" });
    expect(selectPlugin("agent-iam", "spire-aws-iid")).toEqual({ side: "agent", method: "aws_iam" });
  });

  it("without plugin_args the side waits for Init and the file name picks the method", () => {
    expect(selectPlugin(undefined, "spire-aws-iid")).toEqual({ side: undefined, method: "aws_iid" });
    // The spiffe Helm chart's image route: /plugins/nodeAttestor/<plugin name>.
    expect(selectPlugin(undefined, "aws_iam")).toEqual({ side: undefined, method: "aws_iam" });
    expect(methodFromProgramName("spire-aws-iam")).toBe("aws_iam");
    expect(methodFromProgramName("spire-aws-iam-0.1.0-sea")).toBe("aws_iam");
    expect(methodFromProgramName("aws_iid")).toBe("aws_iid");
    expect(methodFromProgramName("awsiam")).toBe("aws_iid");
  });

  it("unknown plugin_args are refused with the accepted values, prototype names included", () => {
    for (const arg of ["bogus", "toString", "constructor", ""]) {
      const r = selectPlugin(arg, "spire-aws-iid");
      expect(typeof r).toBe("string");
      expect(String(r)).toContain("leave plugin_args out");
    }
  });

  it("the side of a host is judged by AgentStore, as SPIRE's server and agent catalogs offer it", () => {
    expect(sideOfHost(defaultHostServices("server"))).toBe("server");
    expect(sideOfHost(defaultHostServices("agent"))).toBe("agent");
    expect(sideOfHost([AGENT_STORE_HOST_SERVICE])).toBe("server");
    expect(sideOfHost([METRICS_HOST_SERVICE])).toBe("agent");
    expect(sideOfHost([])).toBe("agent");
  });
});
